"""Upload the built breathing tracks to S3, where AudioPlayer fetches them: `make upload-audio BUCKET=...`.

Only real tracks (Google's voice), never the offline previews; each under ``audio/<file>`` as serverless.yml's
bucket policy makes public, with ``audio/mpeg`` and a year's immutable caching (a file's name carries its
recipe's hash, so a changed track is a new name). A file already there with the same MD5 is not sent again.
The skill on Lambda reads the same audio/tracks/manifest.json (packaged by serverless.yml) and names only
real tracks (SKILL_AUDIO_FILES_HERE=0): upload before deploying.

boto3 comes with the ``dynamodb`` extra (and is Lambda's own); this never runs in the skill.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from skill.audio.tracks import load_built

PREFIX = "audio"
CACHE_CONTROL = "public, max-age=31536000, immutable"


def s3_client(endpoint_url: str | None = None, region: str | None = None):
    import boto3
    from botocore.config import Config

    # Plain PUTs with Content-MD5 (no streamed trailing checksums): what every S3-compatible store takes.
    config = Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                    response_checksum_validation="when_required")
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def upload(folder: Path, bucket: str, client, out=sys.stdout) -> list[str]:
    """The keys written; files already there unchanged are skipped."""
    tracks = [t for t in load_built(folder).values() if not t.preview]
    if not tracks:
        raise SystemExit(f"no real tracks in {folder}/manifest.json: run `make audio` first (previews are never uploaded)")
    written = []
    for track in sorted(tracks, key=lambda t: t.file):
        data = (folder / track.file).read_bytes()
        md5 = hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag, not security
        key = f"{PREFIX}/{track.file}"
        try:
            if client.head_object(Bucket=bucket, Key=key).get("ETag", "").strip('"') == md5:
                print(f"  {key}: already there", file=out)
                continue
        except client.exceptions.ClientError:
            pass  # not there yet
        client.put_object(Bucket=bucket, Key=key, Body=data, ContentType="audio/mpeg", CacheControl=CACHE_CONTROL)
        print(f"  {key}: {len(data) / 1e6:.1f} MB", file=out)
        written.append(key)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="back-spasm-upload-audio", description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", required=True, help="the AudioBucket output of `sls deploy`")
    parser.add_argument("--tracks", default=str(Path(__file__).resolve().parent.parent.parent / "audio" / "tracks"))
    parser.add_argument("--endpoint-url", help="an S3-compatible endpoint instead of AWS's")
    parser.add_argument("--region")
    args = parser.parse_args(argv)
    upload(Path(args.tracks), args.bucket, s3_client(args.endpoint_url, args.region))
    return 0


if __name__ == "__main__":
    sys.exit(main())
