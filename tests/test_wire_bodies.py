"""The wire bodies of v1-lite, 2.0 and 2.0 Fast are byte-identical to those sent before the model
table learnt the rest of the Seedance family, and so are the journal fingerprints built from them
(a saved workflow queued again finds its video instead of paying twice).

Every expected string below was printed by the code as it was before that change (commit 6af9846),
not written by hand."""
from __future__ import annotations

import json

import pytest

from ..runninghub_video.ledger.journal import fingerprint
from ..runninghub_video.remote import models
from ..runninghub_video.remote.request import VideoRequest

SUBMIT_PATHS = {'seedance-v1-lite': '/openapi/v2/seedance-v1-lite/reference-to-video',
                'seedance-2.0': '/openapi/v2/rhart-video/sparkvideo-2.0/multimodal-video',
                'seedance-2.0-fast': '/openapi/v2/rhart-video/sparkvideo-2.0-fast/multimodal-video'}

CASES = [
    ('v1-lite defaults, one image',
     {'prompt': 'a fox'},
     {'image': ['https://h/i1.png']},
     '{"prompt": "a fox", "imageUrls": ["https://h/i1.png"], "duration": "5", "resolution": "720p", "aspectRatio": "16:9", "cameraFixed": "false"}',
     '05a490832acc3929def70baea759c0835cfaece0c4c1f2853a6b05c9006e47d7'),
    ('v1-lite all options, four images',
     {'prompt': ' a fox runs ', 'duration': '3', 'resolution': '480p', 'aspect_ratio': '9:16', 'camera_fixed': True},
     {'image': ['https://h/i1.png', 'https://h/i2.png', 'https://h/i3.jpg', 'https://h/i4.png']},
     '{"prompt": "a fox runs", "imageUrls": ["https://h/i1.png", "https://h/i2.png", "https://h/i3.jpg", "https://h/i4.png"], "duration": "3", "resolution": "480p", "aspectRatio": "9:16", "cameraFixed": "true"}',
     '740b0349bf31996edbdc849c3c3208180347746b00ed3c9ace2064e449fb696d'),
    ('v1-lite 12 s 21:9, camera free',
     {'prompt': '雪山', 'duration': 12, 'resolution': '720p', 'aspect_ratio': '21:9', 'camera_fixed': False},
     {'image': ['https://h/i1.png', 'https://h/i2.png']},
     '{"prompt": "\\u96ea\\u5c71", "imageUrls": ["https://h/i1.png", "https://h/i2.png"], "duration": "12", "resolution": "720p", "aspectRatio": "21:9", "cameraFixed": "false"}',
     '94d7a91f0f92eaef7edcb1a59b94e15f9240dc737ef5e30e827b9345284e7c29'),
    ('2.0 defaults, one image',
     {'prompt': 'a fox', 'model': 'seedance-2.0'},
     {'image': ['https://h/i1.png']},
     '{"prompt": "a fox", "imageUrls": ["https://h/i1.png"], "duration": "5", "resolution": "720p", "ratio": "adaptive", "generateAudio": true}',
     'b6f0fad5664430351a8f15c63ef1c0b2c5c1700ed20b596673b7807ce01d1f7e'),
    ('2.0 every kind, last frame, silent, seed',
     {'prompt': 'a fox', 'model': 'seedance-2.0', 'duration': '15', 'resolution': 'native1080p', 'aspect_ratio': '9:16', 'generate_audio': False, 'seed': 7, 'last_frame': True},
     {'image': ['https://h/i1.png', 'https://h/i2.png', 'https://h/i3.png', 'https://h/i4.png', 'https://h/i5.png', 'https://h/i6.png', 'https://h/i7.png', 'https://h/i8.png', 'https://h/i9.png'], 'video': ['https://h/v1.mp4', 'https://h/v2.mp4'], 'audio': ['https://h/a1.wav']},
     '{"prompt": "a fox", "imageUrls": ["https://h/i1.png", "https://h/i2.png", "https://h/i3.png", "https://h/i4.png", "https://h/i5.png", "https://h/i6.png", "https://h/i7.png", "https://h/i8.png", "https://h/i9.png"], "videoUrls": ["https://h/v1.mp4", "https://h/v2.mp4"], "audioUrls": ["https://h/a1.wav"], "duration": "15", "resolution": "native1080p", "ratio": "9:16", "generateAudio": false, "seed": 7, "returnLastFrame": true}',
     'd7a16424b3a65c3bbed99aa42ed87c3a564c7598f9192a0f3f63ea38b3703080'),
    ('2.0 only a video, seed 0',
     {'prompt': 'a fox', 'model': 'seedance-2.0', 'seed': 0, 'duration': '4', 'resolution': '4k'},
     {'video': ['https://h/v1.mp4']},
     '{"prompt": "a fox", "videoUrls": ["https://h/v1.mp4"], "duration": "4", "resolution": "4k", "ratio": "adaptive", "generateAudio": true, "seed": 0}',
     'fc7774bf7a354fd92912c2a3e6e9ffa237ad05509abca6de0666e764998817d2'),
    ('2.0 Fast defaults, one image',
     {'prompt': 'a fox', 'model': 'seedance-2.0-fast'},
     {'image': ['https://h/i1.png']},
     '{"prompt": "a fox", "imageUrls": ["https://h/i1.png"], "duration": "5", "resolution": "720p", "ratio": "adaptive", "generateAudio": true}',
     '1999011dc3fe50cfaf7e72e5bcf26707acaf301617e5c01bf5be229b56e691ad'),
    ('2.0 Fast 1080p 10 s, image and audio, last frame',
     {'prompt': 'p', 'model': 'seedance-2.0-fast', 'duration': '10', 'resolution': '1080p', 'aspect_ratio': 'adaptive', 'generate_audio': True, 'seed': -1, 'last_frame': True},
     {'image': ['https://h/i1.png'], 'audio': ['https://h/a1.mp3', 'https://h/a2.wav']},
     '{"prompt": "p", "imageUrls": ["https://h/i1.png"], "audioUrls": ["https://h/a1.mp3", "https://h/a2.wav"], "duration": "10", "resolution": "1080p", "ratio": "adaptive", "generateAudio": true, "returnLastFrame": true}',
     '245e1985ecc385594e5d45f3754eb2a1d1305033c0bfef421bfd7852e5d7a896'),
]


def sent(request: dict, urls: dict) -> tuple[str, str, str]:
    """What the pipeline sends for these inputs: the submit path, the JSON text (as requests encodes
    a ``json=`` body) and the journal fingerprint of the request."""
    valid = VideoRequest(**request).validated()
    body = json.dumps(valid.body(urls))
    key = fingerprint(site="cn", model=valid.model, options=valid.options(), reference_hashes=["h1", "video:h2"],
                      variation=0)
    return valid.endpoint.submit_path, body, key


@pytest.mark.parametrize("name, request_, urls, body, key", CASES, ids=[c[0] for c in CASES])
def test_earlier_models_send_the_same_bytes_as_before(name, request_, urls, body, key):
    path, sent_body, sent_key = sent(request_, urls)
    assert sent_body == body
    assert sent_key == key
    assert path == SUBMIT_PATHS[request_.get("model", models.DEFAULT_MODEL)]
