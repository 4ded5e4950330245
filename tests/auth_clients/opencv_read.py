"""Reads frames of an MJPEG URL with OpenCV's VideoCapture (its FFmpeg backend), credentials in
the URL as users write them. Prints one JSON line: {"opened", "frames", "shape"}.

Usage: opencv_read.py URL FRAMES
"""
import json
import sys

import cv2

url, want = sys.argv[1], int(sys.argv[2])
cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
frames, shape = 0, None
if cap.isOpened():
    for _ in range(want):
        ok, frame = cap.read()
        if not ok:
            break
        frames += 1
        shape = list(frame.shape)
print(json.dumps({"opened": bool(cap.isOpened()), "frames": frames, "shape": shape}))
