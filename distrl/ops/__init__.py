"""Operations around training: progress tracking, console output, run summaries."""
