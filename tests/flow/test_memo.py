"""`s2svr.flow.memo.FlowMemo`: each pair computed once, the same answers, a cache keyed by the net and its zoom."""
import pytest
import torch
import torch.nn as nn

from s2svr.flow.memo import FlowMemo
from s2svr.flow.pwclite import PWCLite
from s2svr.flow.standins import ZeroFlow
from s2svr.train.flow_evaluate import evaluate_flow
from tests.report.test_flow_figures import ShiftFlow, shifted_pair


def test_each_pair_is_computed_once_and_matches_the_net():
    net = ShiftFlow()
    memo = FlowMemo(net)
    a, b = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    f1 = memo(a, b)
    f2 = memo(a.clone(), b.clone())  # same content, another tensor: served from the cache
    assert net.calls == 1 and memo.calls == 1
    assert torch.equal(f1, net(a, b)) and torch.equal(f1, f2)
    f2.add_(1)  # callers cannot corrupt the cache
    assert torch.equal(memo(a, b), f1)
    memo(b, a)
    fw, bw = memo(a, b, with_bw=True)
    assert memo.calls == 3 and torch.equal(bw, -fw)


def test_a_batched_call_is_answered_pair_by_pair():
    net = ShiftFlow()
    memo = FlowMemo(net)
    a, b = torch.rand(3, 3, 8, 8), torch.rand(3, 3, 8, 8)
    memo(a[1:2], b[1:2])
    out = memo(a, b)
    assert out.shape == (3, 2, 8, 8) and memo.calls == 3  # pair 1 was known; pairs 0 and 2 are new


def test_a_forward_request_is_served_by_a_bidirectional_answer():
    net = ShiftFlow(3.0)
    memo = FlowMemo(net)
    a, b = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    fw, _ = memo(a, b, with_bw=True)
    f = memo(a, b)
    assert net.calls == 1 and torch.equal(f, fw)
    f.add_(1)
    assert torch.equal(memo(a, b, with_bw=True)[0], fw)
    memo(a, b, work_size=(16, 16))  # other options: a real call
    assert net.calls == 2


def test_the_key_holds_the_weights_and_the_zoom_in_use():
    torch.manual_seed(0)
    cache = {}
    x1, x2 = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    n1 = PWCLite()
    n2 = PWCLite()
    same = PWCLite()
    same.load_state_dict(n1.state_dict())
    m1, m2, m3 = (FlowMemo(n.eval(), cache) for n in (n1, n2, same))
    f1 = m1(x1, x2)
    m2(x1, x2)
    assert (m1.calls, m2.calls) == (1, 1)  # other weights: computed
    assert torch.equal(m3(x1, x2), f1) and m3.calls == 0  # equal weights: shared
    n1.using(zoom=2.0)  # the same net set to another zoom after wrapping: not served the old flow
    f_z2 = m1(x1, x2)
    assert m1.calls == 2 and torch.allclose(f_z2, n1(x1, x2), atol=1e-6)


def test_a_memoised_reference_gives_the_same_numbers_with_fewer_calls():
    pairs = [shifted_pair(), shifted_pair(shift=2)]
    plain = evaluate_flow(ZeroFlow(), pairs, "lq", reference=ShiftFlow(4.0))
    teacher = ShiftFlow(4.0)
    memo = FlowMemo(teacher)
    for _ in range(3):
        again = evaluate_flow(ZeroFlow(), pairs, "lq", reference=memo)
    assert teacher.calls == len(pairs)
    assert again == pytest.approx(plain)
    assert again["epe_ref"] == pytest.approx(4.0)


class _Weightless(nn.Module):
    def forward(self, img1, img2, with_bw=False, work_size=None):
        f = (img2 - img1).mean(1, keepdim=True).repeat(1, 2, 1, 1)
        return (f, -f) if with_bw else f


def test_weightless_nets_of_one_class_share_and_other_classes_do_not():
    cache = {}
    x1, x2 = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    a, b = FlowMemo(_Weightless(), cache), FlowMemo(_Weightless(), cache)
    a(x1, x2)
    b(x1, x2)
    assert (a.calls, b.calls) == (1, 0)
    c = FlowMemo(ShiftFlow(), cache)
    c(x1, x2)
    assert c.calls == 1
