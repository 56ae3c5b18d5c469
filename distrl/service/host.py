"""The gRPC service beside a training run: started after the backend, fed after every update."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from distrl.ops.tracking import TrainingProgress
from distrl.service.exchange import Inbox, RunControl, WeightsBoard
from distrl.service.server import DistrlService, ServedRun, ServeOptions, start_server
from distrl.types import EnvSpec


class ServiceHost:
    """Publishes each new weights version to the service's board and carries out its admin
    requests in the training thread (``observe``); its inbox holds pushed experience for the
    loop. ``checkpoint`` writes a checkpoint and returns its path (None: refused)."""

    def __init__(
        self,
        *,
        run: ServedRun,
        spec: EnvSpec,
        backend: Any,
        options: ServeOptions,
        checkpoint: Callable[[TrainingProgress], str] | None,
        state: TrainingProgress,
    ) -> None:
        self.board = WeightsBoard(resolve=backend.fetch)
        self.inbox = Inbox(options.backlog_steps)
        self.control = RunControl(checkpoint=checkpoint)
        self.backend = backend
        self.board.publish(state.version, backend.weights())  # Act works from the start
        service = DistrlService(run=run, spec=spec, board=self.board, options=options,
                                inbox=self.inbox, control=self.control)  # fmt: skip
        self.server, self.port = start_server(service, options)

    def observe(self, state: TrainingProgress) -> None:
        if state.version != self.board.version:
            self.board.publish(state.version, self.backend.weights())
        self.control.observe(state)  # may raise StopRequested

    def close(self) -> None:
        self.board.close()
        self.control.fail_pending("the run has ended")
        self.server.stop(grace=2.0)
