from __future__ import annotations

from ._io import FolderType


class SavedResult(dict):
    def __init__(self, filename: str, subfolder: str, type: FolderType) -> None:
        super().__init__(filename=filename, subfolder=subfolder, type=type.value)


class SavedImages:
    def __init__(self, results: list[SavedResult], is_animated: bool = False) -> None:
        self.results, self.is_animated = results, is_animated

    def as_dict(self) -> dict:
        data = {"images": self.results}
        if self.is_animated:
            data["animated"] = (True,)
        return data


class PreviewVideo:
    def __init__(self, values: list, **kwargs) -> None:
        self.values = values

    def as_dict(self) -> dict:
        return {"images": self.values, "animated": (True,)}
