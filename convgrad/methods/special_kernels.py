"""The special-function kernels behind ``transcendental.py`` and ``pointwise.erf``: float64
ndarrays in, float64 out, vectorised NumPy, no SciPy.

The kernels are NumPy, vectorised, written here (no SciPy), in float64 and cast back: erf =
W. J. Cody's rational approximations; lgamma = Taylor series about 1 and 2, Stirling's series
past 10 (recurrence in between), reflection below 0; digamma and trigamma are torch's own
algorithms (recurrence to x ≥ 10, asymptotic series; reflection for x < 0); polygamma(n ≥ 2) =
(−1)ⁿ⁺¹ n! ζ(n+1, x) with Cephes' Hurwitz ζ; erfinv is a rational first guess refined by Newton
steps on erf (or on erfc in the tails, which keeps full relative precision there).
"""

from __future__ import annotations

import math

import numpy as np

_PI = math.pi
_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9,
           7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
           -4.5979787224074726105e15, 1.8152105401943546773e17, -7.1661652561756670113e18)


# -- kernels (float64 ndarrays in, float64 out) ----------------------------------------------

def _erfc_ratio(t: np.ndarray) -> np.ndarray:
    """Cody's rational approximation of ``erfc(t)·e^{t²}`` for 0.5 ≤ t < 4."""
    num, den = 2.15311535474403846e-8 * t, t
    for c, d in zip((5.64188496988670089e-1, 8.88314979438837594e0, 6.61191906371416295e1,
                     2.98635138197400131e2, 8.81952221241769090e2, 1.71204761263407058e3,
                     2.05107837782607147e3),
                    (1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2,
                     1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3,
                     3.43936767414372164e3)):
        num, den = (num + c) * t, (den + d) * t
    return (num + 1.23033935479799725e3) / (den + 1.23033935480374942e3)


def _erf_array(x: np.ndarray) -> np.ndarray:
    """erf by W. J. Cody's rational Chebyshev approximations (Math. Comp. 23, 1969): relative
    error ≈ 1e−16 on the three ranges |x| < 0.46875, < 4, ≥ 4."""
    y = np.abs(x.astype(np.float64))
    out = np.empty_like(y)
    small, mid = y < 0.46875, (y >= 0.46875) & (y < 4)
    big = ~(small | mid)
    z = y[small] ** 2
    num, den = 1.85777706184603153e-1 * z, z
    for a, b in zip((3.16112374387056560e0, 1.13864154151050156e2, 3.77485237685302021e2),
                    (2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3)):
        num, den = (num + a) * z, (den + b) * z
    out[small] = y[small] * (num + 3.20937758913846947e3) / (den + 2.84423683343917062e3)
    t = y[mid]
    out[mid] = 1 - np.exp(-t * t) * _erfc_ratio(t)
    t = y[big]
    with np.errstate(all="ignore"):
        z = 1 / (t * t)
        num, den = 1.63153871373020978e-2 * z, z
        for p, q in zip((3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
                         1.60837851487422766e-2),
                        (2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1,
                         6.05183413124413191e-2)):
            num, den = (num + p) * z, (den + q) * z
        r = z * (num + 6.58749161529837803e-4) / (den + 2.33520497626869185e-3)
        tail = np.exp(-t * t) * (1 / math.sqrt(math.pi) - r) / t
    out[big] = 1 - tail
    return np.copysign(out, x)


def _zeta(s: float, q: np.ndarray) -> np.ndarray:
    """Hurwitz ζ(s, q) = Σₖ (q + k)^−s for s > 1 (Cephes: direct sum until q + k > 9, then
    Euler–Maclaurin with 12 Bernoulli terms); q ≤ 0 an integer gives inf."""
    q = np.asarray(q, np.float64)
    with np.errstate(all="ignore"):
        total = q ** -s
        a, b, i = q.copy(), np.zeros_like(q), 0
        while True:
            step = (a <= 9) | (i < 9)
            if not step.any():
                break
            a = np.where(step, a + 1, a)
            b = np.where(step, a ** -s, b)
            total = np.where(step, total + b, total)
            i += 1
        w = a
        total = total + b * w / (s - 1) - 0.5 * b
        fac, k = 1.0, 0.0
        for big_a in _ZETA_A:
            fac *= s + k
            b = b / w
            total = total + fac * b / big_a
            k += 1
            fac *= s + k
            b = b / w
            k += 1
        return np.where((q <= 0) & (q == np.floor(q)), np.inf, total)


def _lgamma_near(z: np.ndarray) -> np.ndarray:
    """log Γ(1 + z) for |z| ≤ 0.5: −γz + Σₖ₌₂ (−z)ᵏ ζ(k)/k (no cancellation near the roots)."""
    u, out = -z, np.zeros_like(z)
    for k in range(_SERIES_TERMS, 1, -1):
        out = out * u + _ZETA_K[k] / k
    return out * u * u - np.euler_gamma * z


def _lgamma_array(x: np.ndarray) -> np.ndarray:
    """log|Γ(x)|, float64, to ≈ 1e−15 relative away from its roots."""
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    with np.errstate(all="ignore"):
        neg = x < 0.5
        y = np.where(neg, 1 - x, x)                     # y ≥ 0.5
        res = np.zeros_like(y)
        near1, near2 = y <= 1.5, (y > 1.5) & (y <= 2.5)
        res[near1] = _lgamma_near(y[near1] - 1)
        z2 = y[near2] - 2
        res[near2] = _lgamma_near(z2) + np.log1p(z2)
        far = y > 2.5
        yf = y[far]
        shift = np.zeros_like(yf)
        for _ in range(8):                              # climb to ≥ 10: Γ(y+1) = yΓ(y)
            low = yf < 10
            shift = np.where(low, shift + np.log(np.where(low, yf, 1.0)), shift)
            yf = np.where(low, yf + 1, yf)
        inv, inv2 = 1 / yf, 1 / (yf * yf)
        series = inv * (1 / 12 + inv2 * (-1 / 360 + inv2 * (1 / 1260 + inv2 * (
            -1 / 1680 + inv2 * (1 / 1188 + inv2 * (-691 / 360360 + inv2 / 156))))))
        res[far] = ((yf - 0.5) * np.log(yf) - yf + 0.5 * math.log(2 * _PI) + series - shift)
        sin_pi = np.abs(np.sin(_PI * (x - np.round(x))))
        out = np.where(neg, np.log(_PI / sin_pi) - res, res)
        out = np.where(neg & (x == np.floor(x)), np.inf, out)
        out = np.where(np.isinf(x), np.inf, out)
        return np.where(np.isnan(x), np.nan, out)


_SERIES_TERMS = 60
_ZETA_K = [0.0, 0.0] + [float(_zeta(k, np.array(1.0))) for k in range(2, _SERIES_TERMS + 1)]


def _digamma_array(x: np.ndarray) -> np.ndarray:
    """ψ(x) = Γ'(x)/Γ(x): torch's algorithm (reflection ψ(1−x) − π/tan(πx) for x < 0,
    recurrence to x ≥ 10, asymptotic series); ψ(±0) = ∓inf, ψ(−n) = NaN."""
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        neg = x < 0
        frac = x - np.trunc(x)
        reflect = np.where(neg, -_PI / np.tan(_PI * frac), 0.0)
        y = np.where(neg, 1 - x, x)
        res = np.zeros_like(y)
        for _ in range(10):
            low = y < 10
            res = np.where(low, res - 1 / y, res)
            y = np.where(low, y + 1, y)
        z = 1 / (y * y)
        poly = 0.0
        for c in (8.33333333333333333333E-2, -2.10927960927960927961E-2,
                  7.57575757575757575758E-3, -4.16666666666666666667E-3,
                  3.96825396825396825397E-3, -8.33333333333333333333E-3,
                  8.33333333333333333333E-2):
            poly = poly * z + c
        tail = np.where(y < 1e17, z * poly, 0.0)
        res = np.where(y == 10, res + 2.25175258906672110764, res + np.log(y) - 0.5 / y - tail)
        out = res + reflect
        out = np.where(neg & (x == np.trunc(x)), np.nan, out)
        out = np.where(x == -np.inf, np.nan, out)
        return np.where(x == 0, np.copysign(np.inf, -x), out)


def _trigamma_array(x: np.ndarray) -> np.ndarray:
    """ψ′(x): torch's algorithm (π²/sin²(πx) reflection below ½, six recurrence steps, the
    asymptotic series)."""
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        low = x < 0.5
        res = np.where(low, -(_PI * _PI) / np.sin(_PI * x) ** 2, 0.0)
        sign = np.where(low, -1.0, 1.0)
        y = np.where(low, 1 - x, x)
        for _ in range(6):
            res = res + 1 / (y * y)
            y = y + 1
        ixx = 1 / (y * y)
        res = res + (1 + 1 / (2 * y) + ixx * (1 / 6 - ixx * (1 / 30 - ixx * (1 / 42)))) / y
        return sign * res


def _cot_derivative(n: int, x: np.ndarray) -> np.ndarray:
    """dⁿ/dxⁿ cot(πx) as a polynomial in c = cot(πx): P₀ = c, Pₖ₊₁ = −π(1 + c²)·Pₖ′(c)."""
    poly = np.polynomial.Polynomial([0.0, 1.0])
    for _ in range(n):
        poly = poly.deriv() * np.polynomial.Polynomial([-_PI, 0.0, -_PI])
    return poly(1 / np.tan(_PI * (x - np.round(x))))


def _polygamma_array(n: int, x: np.ndarray) -> np.ndarray:
    """ψ⁽ⁿ⁾(x): digamma, trigamma, else (−1)ⁿ⁺¹ n! ζ(n+1, x); far below 0 (x < −50, where
    the direct ζ sum would need −x terms) the reflection ψ⁽ⁿ⁾(x) = −π dⁿcot(πx)/dxⁿ +
    (−1)ⁿ ψ⁽ⁿ⁾(1 − x)."""
    if n == 0:
        return _digamma_array(x)
    if n == 1:
        return _trigamma_array(x)
    x = np.asarray(x, np.float64)
    far = x < -50
    scale = (1.0 if n % 2 else -1.0) * math.factorial(n)
    out = scale * _zeta(n + 1, np.where(far, 1.0, x))
    if far.any():
        with np.errstate(all="ignore"):
            xf = x[far]
            out[far] = (-_PI * _cot_derivative(n, xf) + (-1) ** n * scale *
                        _zeta(n + 1, 1 - xf))
            out[far & (x == np.floor(x))] = np.inf
    return out


def _erfc_array(x: np.ndarray) -> np.ndarray:
    """1 − erf(x) with full relative precision for large x (Cody's rational forms of
    erfc·e^{x²}, the exponent split so e^{−x²} keeps its precision)."""
    x = np.asarray(x, np.float64)
    y = np.abs(x)
    with np.errstate(all="ignore"):
        out = 1 - _erf_array(y)
        big = y >= 0.46875
        t = y[big]
        inv = 1 / (t * t)
        num, den = 1.63153871373020978e-2 * inv, inv
        for p, q in zip((3.05326634961232344e-1, 3.60344899949804439e-1,
                         1.25781726111229246e-1, 1.60837851487422766e-2),
                        (2.56852019228982242e0, 1.87295284992346047e0,
                         5.27905102951428412e-1, 6.05183413124413191e-2)):
            num, den = (num + p) * inv, (den + q) * inv
        r = (1 / math.sqrt(_PI) - inv * (num + 6.58749161529837803e-4) /
             (den + 2.33520497626869185e-3)) / t
        mid = _erfc_ratio(t)
        r = np.where(t < 4, mid, r)
        head = np.trunc(t * 16) / 16
        out[big] = np.exp(-head * head) * np.exp(-(t - head) * (t + head)) * r
        out = np.where(np.isnan(y), np.nan, out)
        return np.where(x < 0, 2 - out, out)


def _erfinv_array(y: np.ndarray) -> np.ndarray:
    """erf⁻¹(y) on [−1, 1]: Giles' rational guess, then Newton on erf (|y| ≤ ½) or on
    log erfc (the tails: 1 − |y| is exact there, so precision is kept up to ±1); ±1 → ±inf."""
    y = np.asarray(y, np.float64)
    a = np.abs(y)
    with np.errstate(all="ignore"):
        w = -np.log((1 - a) * (1 + a))
        small = w < 5
        ws, wb = w - 2.5, np.sqrt(w) - 3
        ps = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
            ps = ps * ws + c
        pb = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                  -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
            pb = pb * wb + c
        x = np.where(small, ps, pb) * a
        centre, rest = a <= 0.5, 1 - a
        for _ in range(4):        # Newton on erf(x) = a, or on log erfc(x) = log(1 − a)
            slope = 2 / math.sqrt(_PI) * np.exp(-x * x)
            tail = _erfc_array(x)
            step = np.where(centre, (_erf_array(x) - a) / slope,
                            (np.log(rest) - np.log(tail)) * tail / slope)
            x = np.where(np.isfinite(step), x - step, x)
        x = np.where(a == 1, np.inf, x)
        x = np.where((a > 1) | np.isnan(a), np.nan, x)
        return np.copysign(x, y)


def _bessel(x: np.ndarray, order: int) -> np.ndarray:
    """Modified Bessel Iₙ(x), n ∈ {0, 1}: power series Σ (x/2)^{2k+n}/(k!(k+n)!) for |x| < 30,
    the asymptotic series e^x/√(2πx)·Σ (−1)ᵏ aₖ(n)/xᵏ beyond."""
    x = np.asarray(x, np.float64)
    y = np.abs(x)
    with np.errstate(all="ignore"):
        q = (y / 2) ** 2
        term = np.where(order, y / 2, 1.0) * np.ones_like(y)
        total = term.copy()
        for k in range(1, 120):
            term = term * q / (k * (k + order))
            total = total + term
        mu, inv = 4.0 * order * order, 1 / np.where(y < 30, 30.0, y)
        term, asym = np.ones_like(y), np.ones_like(y)
        for k in range(1, 30):
            term = term * -(mu - (2 * k - 1) ** 2) / (k * 8) * inv
            asym = asym + term
        half = np.exp(y / 2)
        asym = asym * half / np.sqrt(2 * _PI * y) * half
        out = np.where(y < 30, total, asym)
        return np.copysign(out, x) if order else out
