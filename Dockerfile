# CPU-only image of marketbot. Not built in CI (no Docker engine there); kept simple on purpose.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    MARKETBOT_DATA_DIR=/data

WORKDIR /app
# torch from the CPU wheel index first, so the project's pin does not pull a CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY prompts ./prompts
RUN pip install . && python -m bot.core.embed

VOLUME /data
ENTRYPOINT ["marketbot"]
CMD ["run"]
