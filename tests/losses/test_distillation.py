"""Eq. (16): zero when the resized student flow equals the teacher's, positive otherwise."""
import torch

from s2svr.flow import resize_flow
from s2svr.losses import DistillationLoss, distillation_loss


def test_zero_when_student_matches_teacher_after_resizing():
    teacher = torch.ones(2, 2, 32, 32) * torch.tensor([3.0, -2.0]).view(1, 2, 1, 1)  # HQ pixels
    student = teacher[..., ::4, ::4] / 4  # 1/4 size, LQ pixels
    assert distillation_loss(student, teacher) == 0
    # any student flow, teacher = its x4 upsampling
    s = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    assert distillation_loss(s, resize_flow(s, (32, 32))) < 1e-6


def test_positive_when_magnitudes_not_rescaled():
    teacher = torch.ones(1, 2, 32, 32) * torch.tensor([3.0, -2.0]).view(1, 2, 1, 1)
    student = teacher[..., ::4, ::4].clone()  # forgot to divide by 4: upsampled to (12, -8)
    assert torch.allclose(distillation_loss(student, teacher), torch.tensor((9.0 + 6.0) / 2))


def test_gradient_reaches_student_not_teacher():
    teacher = torch.randn(1, 2, 16, 16, requires_grad=True)
    student = torch.zeros(1, 2, 4, 4, requires_grad=True)
    DistillationLoss()(student, teacher).backward()
    assert student.grad.abs().sum() > 0 and teacher.grad is None
