"""A real service on 127.0.0.1 with an OS-chosen port, fed by a real learner (no training loop:
tests drive the inbox and the weights board themselves)."""

import dataclasses

import pytest

from distrl.config import build_config
from distrl.envs import EnvOptions, env_spec
from distrl.service.client import Client
from distrl.service.exchange import Inbox, RunControl, WeightsBoard
from distrl.service.server import DistrlService, ServeOptions, start_server
from tests.parts import learner_of, served_run


@dataclasses.dataclass
class Served:
    config: object
    spec: object
    learner: object
    board: WeightsBoard
    inbox: Inbox
    address: str

    def client(self, **kwargs):
        return Client(self.address, **kwargs)


def serve(config, *, training=True, **options):
    spec = env_spec(config.env, config.atari, EnvOptions.of(config))
    learner = learner_of(config, spec=spec, seed=0)
    board = WeightsBoard()
    weights = learner.weights()
    board.publish(weights.version, weights)
    inbox = Inbox(options.pop("backlog_steps", 10_000))
    opts = ServeOptions(listen="127.0.0.1:0", **options)
    service = DistrlService(
        run=served_run(config), spec=spec, board=board, options=opts,
        inbox=inbox if training else None, control=RunControl(None) if training else None,
    )  # fmt: skip
    server, port = start_server(service, opts)
    return server, Served(config, spec, learner, board, inbox, f"127.0.0.1:{port}")


@pytest.fixture
def cartpole_service():
    server, served = serve(build_config({"envs_per_worker": 2, "rollout_len": 8}))
    yield served
    served.board.close()
    server.stop(grace=None)


@pytest.fixture
def make_service():
    servers = []

    def make(config, **options):
        server, served = serve(config, **options)
        servers.append((server, served))
        return served

    yield make
    for server, served in servers:
        served.board.close()
        server.stop(grace=None)
