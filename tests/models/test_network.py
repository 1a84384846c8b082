import pytest
import torch

from s2svr.models import S2SVR


@pytest.mark.parametrize("layout", ["paper", "official"])
@pytest.mark.parametrize("task", ["sr", "deblur", "vqe"])
def test_shapes_finite_and_gradients_reach_every_parameter(make_model, task, layout, clip):
    model = make_model(task=task, layout=layout)
    c, s = (1 if task == "vqe" else 3), (4 if task == "sr" else 1)
    x = clip(t=4, c=c)
    out, alpha = model(x, return_attention=True)
    assert out.shape == (1, 4, c, 16 * s, 16 * s)
    assert alpha.shape == (1, 4, 3, 8, 16, 16)
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().gt(0).any()]
    assert not dead, f"no gradient reaches {dead}"
    assert sorted(dict(model.named_children())) == ["attention", "decoder", "encoder", "flow", "head"]


@pytest.mark.parametrize("radius", [1, 2])
def test_returned_attention_weights_are_distributions(make_model, radius, clip):
    model = make_model(task="deblur", radius=radius)
    with torch.no_grad():
        _, alpha = model(clip(t=3), return_attention=True)
    assert alpha.shape[2] == 2 * radius + 1 and (alpha >= 0).all()
    assert torch.allclose(alpha.sum(2), torch.ones_like(alpha.sum(2)), atol=1e-6)


@pytest.mark.parametrize("radius", [1, 2])
def test_paper_layout_output_t_depends_only_on_frames_up_to_t_plus_r(make_model, radius, clip):
    model = make_model(task="deblur", layout="paper", radius=radius)
    t, x = 5, clip(t=5)
    y = x.clone()
    y[:, 3:] = torch.rand_like(y[:, 3:])  # frames 3, 4 change
    with torch.no_grad():
        a, b = model(x), model(y)
    for i in range(t):
        same = torch.equal(a[:, i], b[:, i])
        assert same == (i + radius < 3), f"output {i} (radius {radius}) {'un' if same else ''}changed"


def test_official_layout_output_0_depends_on_the_last_frame(make_model, clip):
    model = make_model(task="deblur", layout="official")
    x = clip(t=4)
    y = x.clone()
    y[:, -1] = torch.rand_like(y[:, -1])
    with torch.no_grad():
        assert not torch.allclose(model(x)[:, 0], model(y)[:, 0], atol=1e-6)


@pytest.mark.parametrize("radius", [1, 2])
def test_streaming_equals_forward_with_delay_r_and_bounded_memory(make_model, radius, clip):
    model = make_model(task="sr", layout="paper", radius=radius)
    t, x = 7, clip(t=7)
    with torch.no_grad():
        offline = model(x)
        state, sizes, ready = model.init_stream(), [], []
        for i in range(t):
            ready.append(len(model.stream_step(state, x[:, i])))
            assert len(state.latents) <= 2 * radius + 1
            sizes.append(state.num_tensors())
        assert ready == [0] * radius + [1] * (t - radius)  # delay r
        assert len(model.stream_flush(state)) == radius
    assert max(sizes[2 * radius + 1:]) == min(sizes[2 * radius + 1:])  # constant once the window is full
    streamed = torch.stack(list(model.stream(iter(x.unbind(1)))), dim=1)
    assert streamed.shape == offline.shape
    assert (streamed - offline).abs().max() < 1e-5
    assert torch.is_grad_enabled()  # the generator leaves grad mode alone


@pytest.mark.parametrize("task", ["sr", "deblur"])
def test_a_compact_stream_holds_the_reembedded_output_and_gives_the_same_frames(make_model, task, clip):
    """`init_stream(compact=True)`: where C < C_in s^2 (x4 SR at C = 8: 8 < 48) the state keeps the re-embedding of
    y_{i-1} at the LQ size instead of y_{i-1} at the output size, and every output is bit-for-bit the same; where it
    is not smaller (deblur: 8 > 3) the state is unchanged."""
    model = make_model(task=task)
    x = clip(t=5)
    with torch.no_grad():
        plain, compact = model.init_stream(), model.init_stream(compact=True)
        a, b = [], []
        for i in range(5):
            a += model.stream_step(plain, x[:, i])
            b += model.stream_step(compact, x[:, i])
            if i >= 1:
                held = compact.prev_embedded if task == "sr" else compact.prev_output
                assert held.shape == ((1, 8, 16, 16) if task == "sr" else (1, 3, 16, 16))
                assert (compact.prev_output is None) == (task == "sr")
                assert compact.num_tensors() == plain.num_tensors()
        a += model.stream_flush(plain)
        b += model.stream_flush(compact)
    assert compact.compact == (task == "sr") and not plain.compact
    assert len(a) == len(b) == 5 and all(torch.equal(p, q) for p, q in zip(a, b))


def test_official_layout_cannot_stream(make_model):
    with pytest.raises(RuntimeError, match="streaming needs layout='paper'"):
        make_model(layout="official").init_stream()


def test_single_frame_clip(make_model, clip):
    for layout in ("paper", "official"):
        with torch.no_grad():
            assert make_model(task="deblur", layout=layout)(clip(t=1)).shape == (1, 1, 3, 16, 16)


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="layout"):
        S2SVR(layout="bidirectional", flow_net=torch.nn.Identity())
    with pytest.raises(ValueError, match="scale"):
        S2SVR(task="sr", scale=3, flow_net=torch.nn.Identity())
