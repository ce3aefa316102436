"""Stand-in of ComfyUI's ``comfy/cli_args.py`` (tests only): ``args`` as ComfyUI builds it when a
pack is loaded, for the options the pack reads. ``--listen`` is a string of comma-separated
addresses, "127.0.0.1" by default and "0.0.0.0,::" when given without a value; ComfyUI parses
the command line only when its launcher asks it to, else no arguments (as here)."""
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--listen", type=str, default="127.0.0.1", metavar="IP", nargs="?", const="0.0.0.0,::")
parser.add_argument("--port", type=int, default=8188)

args = parser.parse_args([])
