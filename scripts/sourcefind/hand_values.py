#!/usr/bin/env python3
"""Expected values for crates/sourcefind unit tests (errors.rs), computed with
plain Python from the formulas of PyBDSF 1.14 `functions.get_errors` and
`functions.deconv2` (written out independently of the Rust code).

Run: python3 scripts/sourcefind/hand_values.py
"""
import math


def condon(amp, maj, min_, pa_deg, total, bmaj, bmin, noise):
    b2 = bmaj * bmin

    def rho(a, b):
        return (math.sqrt(maj * min_ / (4.0 * b2)) * (amp / noise)
                * (1 + b2 / maj ** 2) ** (a / 2) * (1 + b2 / min_ ** 2) ** (b / 2))

    e_amp = math.sqrt(2) * amp / rho(1.5, 1.5)
    e_maj = math.sqrt(2) * maj / rho(2.5, 0.5)
    e_min = math.sqrt(2) * min_ / rho(0.5, 2.5)
    ell = (maj ** 2 - min_ ** 2) / (maj * min_)
    e_pa = 180.0 if ell == 0 else min(math.degrees(2.0 / (ell * rho(0.5, 2.5))), 180.0)
    phi = math.radians(pa_deg)
    f = math.sqrt(8 * math.log(2))
    e_x = math.sqrt((e_maj * math.sin(phi)) ** 2 + (e_min * math.cos(phi)) ** 2) / f
    e_y = math.sqrt((e_maj * math.cos(phi)) ** 2 + (e_min * math.sin(phi)) ** 2) / f
    e_s = total * math.sqrt((e_amp / amp) ** 2
                            + b2 / (maj * min_) * ((e_maj / maj) ** 2 + (e_min / min_) ** 2))
    return dict(e_peak=e_amp, e_total=e_s, e_x=e_x, e_y=e_y, e_maj=e_maj, e_min=e_min, e_pa_deg=e_pa)


def deconv2(a1, b1, t1, a2, b2, t2):
    t1, t2 = math.radians(t1), math.radians(t2)
    alpha = (a1 * math.cos(t1)) ** 2 + (b1 * math.sin(t1)) ** 2 - (a2 * math.cos(t2)) ** 2 - (b2 * math.sin(t2)) ** 2
    beta = (a1 * math.sin(t1)) ** 2 + (b1 * math.cos(t1)) ** 2 - (a2 * math.sin(t2)) ** 2 - (b2 * math.cos(t2)) ** 2
    gamma = 2 * ((b1 ** 2 - a1 ** 2) * math.sin(t1) * math.cos(t1) - (b2 ** 2 - a2 ** 2) * math.sin(t2) * math.cos(t2))
    s = alpha + beta
    t = math.sqrt((alpha - beta) ** 2 + gamma ** 2)
    if alpha < 0 or beta < 0 or s < t:
        return (0.0 if (alpha < 0 or beta < 0) else math.sqrt(0.5 * (s + t)), 0.0)
    pa = math.degrees(0.5 * math.atan2(-gamma, alpha - beta)) % 180.0
    return (math.sqrt(0.5 * (s + t)), math.sqrt(0.5 * (s - t)), pa)


if __name__ == "__main__":
    # amp 2 mJy/beam, 5.0 x 4.2 px at PA 30, total from the fit, beam 4.0 x 3.4, noise 150 uJy
    amp, maj, mn, pa = 2e-3, 5.0, 4.2, 30.0
    total = amp * maj * mn / (4.0 * 3.4)
    print("condon", total, condon(amp, maj, mn, pa, total, 4.0, 3.4, 1.5e-4))
    # round source: PA error capped at 180
    print("condon round", condon(1e-3, 4.0, 4.0, 0.0, 1e-3, 4.0, 4.0, 1e-4)["e_pa_deg"])
    print("deconv misaligned", deconv2(6.0, 4.5, 50.0, 4.0, 3.4, 20.0))
    print("deconv one axis", deconv2(5.0, 3.4, 20.0, 4.0, 3.4, 20.0))
    print("deconv smaller", deconv2(3.9, 3.3, 20.0, 4.0, 3.4, 20.0))
