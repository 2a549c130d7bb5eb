#!/bin/sh
# The FFmpeg workload: remux/transcode one input onto an output directory.
#   ffmpeg.sh gen OUT_FILE              generate the 20 s test input (lavfi testsrc2 + sine, ~8 MB)
#   ffmpeg.sh run IN_FILE OUT_DIR [LOG_DIR]
# "run" writes out.mp3 (the MP3 muxer seeks back to rewrite the Xing header), out.mp4 (-c copy)
# and fs.mp4 (-movflags +faststart: the muxer re-reads and moves the moov atom to the front).
# ffmpeg exits 0 even when writing its trailer failed, so the caller compares output bytes
# against the same commands run on local disk; the exit codes are only recorded.
# Flags make the outputs deterministic (bitexact, one thread) so byte comparison is fair.
set -u
FF="ffmpeg -nostdin -hide_banner -loglevel error -y -threads 1"
BITEXACT="-fflags +bitexact -flags:v +bitexact -flags:a +bitexact"

case "${1:-}" in
gen)
  out=${2:?usage: ffmpeg.sh gen OUT_FILE}
  exec $FF -f lavfi -i testsrc2=duration=20:size=640x360:rate=25 \
    -f lavfi -i sine=frequency=440:duration=20:sample_rate=48000 \
    -c:v libx264 -preset veryfast -b:v 4M -x264-params threads=1 -pix_fmt yuv420p \
    -c:a aac -b:a 128k -shortest $BITEXACT "$out"
  ;;
run)
  in=${2:?usage: ffmpeg.sh run IN_FILE OUT_DIR [LOG_DIR]}
  dir=${3:?usage: ffmpeg.sh run IN_FILE OUT_DIR [LOG_DIR]}
  logs=${4:-$dir}
  mkdir -p "$dir" "$logs" || exit 1
  $FF -i "$in" -vn -c:a libmp3lame -b:a 320k $BITEXACT "$dir/out.mp3" 2>"$logs/out.mp3.log"
  echo "out.mp3 exit $?"
  $FF -i "$in" -c copy $BITEXACT "$dir/out.mp4" 2>"$logs/out.mp4.log"
  echo "out.mp4 exit $?"
  $FF -i "$in" -c copy -movflags +faststart $BITEXACT "$dir/fs.mp4" 2>"$logs/fs.mp4.log"
  echo "fs.mp4 exit $?"
  sync
  exit 0
  ;;
*)
  echo "usage: ffmpeg.sh gen OUT_FILE | ffmpeg.sh run IN_FILE OUT_DIR [LOG_DIR]" >&2
  exit 2
  ;;
esac
