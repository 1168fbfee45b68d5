"""Bound propagation: sound (sampling and PGD stay inside), CROWN no looser than IBP, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from robustlab.certify import UnsupportedLayerError, verify
from robustlab.errors import ConfigError, ModelError


class Net(nn.Module):
    """Conv, eval batch norm, ReLU, a residual addition, max and average pooling, flatten."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.avg = nn.AvgPool2d(2)
        self.fc = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn(self.conv(x)))
        h = h + self.conv2(h)
        h = self.avg(self.pool(torch.relu(h)))
        return self.fc(h.view(h.size(0), -1))


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():
        net.bn.running_mean.uniform_(-0.2, 0.2)
        net.bn.running_var.uniform_(0.5, 2.0)
    return net.eval()


def _ball(x: torch.Tensor, eps: float, norm: str, k: int) -> torch.Tensor:
    if norm == "linf":
        d = (torch.rand(k, *x.shape) * 2 - 1) * eps
    else:
        d = torch.randn(k, *x.shape)
        d = (
            d
            / d.flatten(2).norm(dim=2).view(k, len(x), 1, 1, 1)
            * eps
            * torch.rand(k, len(x), 1, 1, 1)
        )
    return (x[None] + d).clamp(0, 1) if norm == "linf" else x[None] + d


def _pgd(net: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    adv = x.clone()
    for _ in range(30):
        adv.requires_grad_(True)
        z = net(adv)
        other = z.clone()
        other[torch.arange(len(y)), y] = -1e9
        margin = z[torch.arange(len(y)), y] - other.max(1).values
        (g,) = torch.autograd.grad(margin.sum(), adv)
        with torch.no_grad():
            if norm == "linf":
                adv = (x + (adv - eps / 8 * g.sign() - x).clamp(-eps, eps)).clamp(0, 1)
            else:
                step = g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
                d = adv - eps / 4 * step - x
                n = d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                adv = x + d * (eps / n).clamp(max=1.0)
    return adv.detach()


@pytest.mark.parametrize("norm,eps", [("linf", 0.04), ("l2", 0.3)])
def test_sampled_and_attacked_outputs_lie_inside_the_bounds(norm: str, eps: float) -> None:
    net = _net()
    x = torch.rand(6, 1, 8, 8)
    y = net(x).argmax(1)
    ibp = verify(net, x, y, epsilon=eps, norm=norm, method="ibp")
    crown = verify(net, x, y, epsilon=eps, norm=norm, method="crown")
    with torch.no_grad():
        out = net(_ball(x, eps, norm, 500).view(-1, 1, 8, 8)).view(500, 6, 3)
    adv = _pgd(net, x, y, eps, norm)
    with torch.no_grad():
        out = torch.cat([out, net(adv)[None]])
    for r in (ibp, crown):
        assert (out >= torch.as_tensor(r.lower) - 1e-4).all()
        assert (out <= torch.as_tensor(r.upper) + 1e-4).all()
    assert (crown.lower >= ibp.lower - 1e-5).all() and (crown.upper <= ibp.upper + 1e-5).all()
    assert (crown.margin_lower >= ibp.margin_lower - 1e-5).all()
    assert (crown.upper - crown.lower).mean() < (ibp.upper - ibp.lower).mean()
    margins = out.gather(2, y.view(1, -1, 1).expand(len(out), -1, 1)).squeeze(2)
    worst = (
        (margins[..., None] - out)
        .masked_fill(torch.nn.functional.one_hot(y, 3).bool()[None], float("inf"))
        .amin(2)
    )
    assert (worst >= torch.as_tensor(crown.margin_lower) - 1e-4).all()


def test_no_attack_breaks_a_verified_point() -> None:
    net = _net()
    x = torch.rand(32, 1, 8, 8)
    y = net(x).argmax(1)
    res = verify(net, x, y, epsilon=0.02, method="crown")
    assert res.verified.any()
    adv = _pgd(net, x, y, 0.02, "linf")
    with torch.no_grad():
        broken = net(adv).argmax(1) != y
    assert not (broken.numpy() & res.verified).any()


def test_a_linear_model_gets_exact_bounds() -> None:
    lin = nn.Linear(4, 2).eval()
    x = torch.rand(3, 4) * 0.5 + 0.25
    r = verify(lin, x, torch.zeros(3, dtype=torch.long), epsilon=0.1, method="crown")
    w, b = lin.weight.detach(), lin.bias.detach()
    exact_low = x @ w.T + b - 0.1 * w.abs().sum(1)
    assert torch.allclose(torch.as_tensor(r.lower, dtype=torch.float32), exact_low, atol=1e-5)
    m = (w[0] - w[1]) @ x.T + b[0] - b[1] - 0.1 * (w[0] - w[1]).abs().sum()
    assert torch.allclose(torch.as_tensor(r.margin_lower, dtype=torch.float32), m, atol=1e-5)


def test_unsupported_layer_and_bad_input_are_named() -> None:
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)).eval()
    x = torch.rand(2, 4)
    with pytest.raises(UnsupportedLayerError, match=r"layer '2' \(Tanh\)"):
        verify(net, x, [0, 1], epsilon=0.1)
    ok = nn.Sequential(nn.Linear(4, 2)).eval()
    with pytest.raises(ConfigError, match="'norm'"):
        verify(ok, x, [0, 1], epsilon=0.1, norm="l1")
    with pytest.raises(ConfigError, match="'epsilon'"):
        verify(ok, x, [0, 1], epsilon=-1.0)
    with pytest.raises(ConfigError, match="train mode"):
        verify(nn.Sequential(nn.Linear(4, 2)).train(), x, [0, 1], epsilon=0.1)
    with pytest.raises(ModelError, match="needs a TorchModel"):
        verify(lambda t: t, x, [0, 1], epsilon=0.1)
    from robustlab.models import TorchModel

    tm = TorchModel(ok, bounds=(0.0, 1.0), num_classes=2, modality="tabular", mean=0.5, std=0.25)
    with pytest.raises(ConfigError, match="within the model's bounds"):
        verify(tm, x + 2, [0, 1], epsilon=0.1)
    r = verify(tm, x, [0, 1], epsilon=0.0)
    z = tm(x).detach().numpy()
    assert abs(r.lower - z).max() < 1e-5 and abs(r.upper - z).max() < 1e-5
