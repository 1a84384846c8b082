import pytest
import torch

from s2svr.flow.pwclite import PWCLite
from s2svr.models import S2SVR

TINY = dict(num_feat=8, num_blocks=1, num_layers=2, flow_size=None)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors gain nothing from intra-op threads, and on a shared machine oversubscribed OpenMP threads made
    this suite ~10x slower; restore the setting so other test folders are unaffected."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def make_model():
    """A tiny S2SVR with the real PWC-Lite (which works at 64x64 on 16x16 frames: it rounds up to 64)."""
    def make(task="sr", layout="paper", radius=1, seed=0, **kw):
        torch.manual_seed(seed)
        args = dict(TINY, task=task, layout=layout, radius=radius, in_channels=1 if task == "vqe" else 3,
                    scale=4 if task == "sr" else 1)
        args.update(kw)
        return S2SVR(**args, flow_net=PWCLite())
    return make


@pytest.fixture
def clip():
    """clip(t, c, size) -> a smooth pattern moving down and right, in [0, 1] `(1, T, C, H, W)`."""
    def make(t=4, c=3, size=16, seed=1):
        g = torch.Generator().manual_seed(seed)
        base = torch.nn.functional.avg_pool2d(torch.rand(1, c, size + t, size + t, generator=g), 3, 1, 1)
        return torch.stack([base[..., i:i + size, i // 2:i // 2 + size] for i in range(t)], dim=1)
    return make
