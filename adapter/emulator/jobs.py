"""Search jobs: the snapshot a /search/start/* call took, answered page by page later."""

import time
import uuid
from dataclasses import dataclass

_JOB_LIFETIME = 3600.0  # seconds; clients page through a job within minutes


@dataclass(frozen=True)
class SearchJob:
    id: str
    record_ids: list[str]  # matching records, sorted by creation time, then id
    started: float  # time.monotonic()
    ready_after: float  # seconds the job answers ready=false, as a slow real search would

    def is_ready(self) -> bool:
        return time.monotonic() - self.started >= self.ready_after


class SearchJobs:
    def __init__(self) -> None:
        self._jobs: dict[str, SearchJob] = {}

    def start(self, record_ids: list[str], ready_after: float) -> SearchJob:
        now = time.monotonic()
        self._jobs = {
            job_id: job for job_id, job in self._jobs.items() if now - job.started < _JOB_LIFETIME
        }
        job = SearchJob(str(uuid.uuid4()), record_ids, now, ready_after)
        self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> SearchJob | None:
        return self._jobs.get(job_id)

    def clear(self) -> None:
        self._jobs.clear()
