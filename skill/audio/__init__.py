"""Long-form breathing audio: the manifest (pure, safe on the request path) and its build (gTTS, pydub,
ffmpeg: imported only by the build command)."""
