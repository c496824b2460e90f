"""Long-form breathing audio. At run time only ``tracks`` (which tracks are built, from their manifest.json);
the recipe (``manifest``), its build (gTTS, pydub, ffmpeg) and the upload to S3 are build-time tools that
`make` runs, left out of the Lambda artefact (serverless.yml)."""
