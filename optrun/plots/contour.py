"""Trajectories on the exact loss contours: the plane, the projected paths, the values on a grid.

Two parameters are drawn on their native axes. More are drawn on a plane through θ* (or, without
θ*, through a run's final point) spanned by two orthonormal directions: the Hessian's extreme
eigenvectors (``hessian``) or the paths' principal directions (``pca``); each path's largest
distance off that plane is reported. The contour values are the objective itself, evaluated on
the plane (never interpolated): exactly a quadratic in the plane coordinates for least squares,
per-sample losses in blocks otherwise.
"""

from __future__ import annotations

import math

import numpy as np

from optrun.plots.labels import figure_title
from optrun.plots.model import ContourData, PathData, ProblemData
from optrun.plots.rundata import Group, RunData, load_problem, run_x, same_problem_runs, thin, why_no_reference

SUBTITLES = {"hessian": "plane of the Hessian's extreme eigenvectors through θ*",
             "pca": "plane of the paths' principal directions through θ*"}


def project(thetas: np.ndarray, origin: np.ndarray, basis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plane coordinates (a, c) of parameter rows, and each row's distance off the plane."""
    D = thetas - origin
    AC = D @ basis
    resid = D - AC @ basis.T
    return AC[:, 0], AC[:, 1], np.sqrt(np.sum(resid**2, axis=1))


def _orient(v: np.ndarray) -> np.ndarray:
    """Deterministic sign: the largest component positive."""
    return v if v[np.argmax(np.abs(v))] >= 0 else -v


def plane_basis(problem: ProblemData, origin: np.ndarray, projection: str, deviations: np.ndarray | None):
    """Two orthonormal directions through ``origin``, and their axis labels.

    ``hessian``: the eigenvectors of the Hessian at the origin with the largest and the smallest
    eigenvalue (the steepest and the flattest direction of the loss). ``pca``: the two leading
    right singular vectors of all runs' stacked deviations from the origin (the plane that best
    holds the paths), completed by the Hessian's flattest direction if the paths are collinear.
    """
    H = problem.objective.hessian(origin, problem.X, problem.y)
    evals, evecs = np.linalg.eigh((H + H.T) / 2)
    u_h, v_h = _orient(evecs[:, -1]), _orient(evecs[:, 0])
    if projection == "pca" and deviations is not None and len(deviations) >= 2:
        D = deviations[np.all(np.isfinite(deviations), axis=1)]
        _, s, Vt = np.linalg.svd(D, full_matrices=False)
        u = _orient(Vt[0])
        if len(s) > 1 and s[1] > 1e-9 * s[0]:
            v = _orient(Vt[1])
        else:
            v = v_h - (v_h @ u) * u
            if np.linalg.norm(v) < 1e-8:
                v = u_h - (u_h @ u) * u
            v = _orient(v / np.linalg.norm(v))
        share = float(np.sum(s[:2] ** 2) / np.sum(s**2)) if np.sum(s**2) > 0 else 1.0
        return np.column_stack([u, v]), "principal direction 1 (of the paths)", "principal direction 2 (of the paths)", share
    return (np.column_stack([u_h, v_h]),
            f"direction of largest curvature (λ = {evals[-1]:.3g})",
            f"direction of smallest curvature (λ = {evals[0]:.3g})", None)


# --------------------------------------------------------------------------------------------
# The objective on the plane


def _per_sample_loss(obj):
    """The vectorised per-sample loss ``l(z, y)`` of an Objective (broadcasting), or None."""
    # TODO(public Objective API): obj.per_sample_loss once models.Objective has it
    return getattr(getattr(obj, "_per_sample", None), "value", None)


def _quadratic_on_plane(problem: ProblemData, z, w, a, c) -> np.ndarray:
    """Least squares (l1 = 0): F(o + a u + c v) − F(o), an exact quadratic in (a, c).

    With residual ``r = z_o − y`` and ``k = 1`` (mse) or ``1/2`` (half_mse), the data term is
    ``k mean((r + a z_u + c z_v)^2)``: six inner products, cost O(n) for the whole grid.
    """
    obj = problem.objective
    (z_o, z_u, z_v), (w_o, w_u, w_v) = z, w
    k = 1.0 if obj.loss == "mse" else 0.5
    r = z_o - problem.y
    m = lambda p, q: float(np.mean(p * q))  # noqa: E731
    lin_a = 2 * k * m(r, z_u) + obj.l2 * float(w_o @ w_u)
    lin_c = 2 * k * m(r, z_v) + obj.l2 * float(w_o @ w_v)
    qaa = k * m(z_u, z_u) + 0.5 * obj.l2 * float(w_u @ w_u)
    qcc = k * m(z_v, z_v) + 0.5 * obj.l2 * float(w_v @ w_v)
    qac = 2 * k * m(z_u, z_v) + obj.l2 * float(w_u @ w_v)
    return lin_a * a + lin_c * c + qaa * a * a + qcc * c * c + qac * a * c


def _blocks_on_plane(problem: ProblemData, per_sample, z, w, a, c, F0: float) -> np.ndarray:
    """Any loss: ``mean_i l(z_o + a z_u + c z_v, y_i)`` plus penalties, minus F(o), evaluated on
    (grid chunk) x (rows) blocks of about 4 million entries."""
    obj, y = problem.objective, problem.y
    (z_o, z_u, z_v), (w_o, w_u, w_v) = z, w
    out = np.empty(a.shape)
    chunk = max(1, int(4_000_000 // max(problem.X.shape[0], 1)))
    with np.errstate(all="ignore"):
        for s in range(0, a.size, chunk):
            ai, ci = a[s : s + chunk, None], c[s : s + chunk, None]
            Zb = z_o[None, :] + ai * z_u[None, :] + ci * z_v[None, :]
            data = np.mean(per_sample(Zb, y[None, :]), axis=1)
            W = w_o[None, :] + ai * w_u[None, :] + ci * w_v[None, :]
            pen = 0.5 * obj.l2 * np.sum(W * W, axis=1) + obj.l1 * np.sum(np.abs(W), axis=1)
            out[s : s + chunk] = data + pen - F0
    return out


def _data_term_on_grid(problem: ProblemData, origin, basis, AA, CC):
    """Mean data loss plus penalties at theta = origin + a u + c v for every grid point.

    The linear predictor is affine on the plane: ``z = z_o + a z_u + c z_v`` (a direction's
    intercept component enters z, without y). Returns (values, constant) where values +
    constant = F; the constant F(origin) is kept apart so that f − f* near theta* is not lost to
    cancellation.
    """
    obj, X, y = problem.objective, problem.X, problem.y
    if getattr(obj, "model", "") == "analytic":  # an objective without data: f itself, point by point
        theta = origin[None, :] + np.column_stack([AA.ravel(), CC.ravel()]) @ basis.T
        F0 = float(obj.value(origin))
        with np.errstate(all="ignore"):
            out = np.array([obj.value(t) for t in theta]) - F0
        return out.reshape(AA.shape), F0

    def z_of(theta):
        w, b = obj.split(theta)
        return X @ np.asarray(w, float) + (float(b) if obj.fit_intercept else 0.0)

    u, v = basis[:, 0], basis[:, 1]
    z = (z_of(origin), z_of(u), z_of(v))
    w = (obj.split(origin)[0], obj.split(u)[0], obj.split(v)[0])
    a, c = AA.ravel(), CC.ravel()
    F0 = float(obj.value(origin, X, y))
    if obj.model == "linear" and obj.loss in ("mse", "half_mse") and obj.l1 == 0.0:
        return _quadratic_on_plane(problem, z, w, a, c).reshape(AA.shape), F0
    per_sample = _per_sample_loss(obj)
    if per_sample is None:  # no vectorised per-sample loss: evaluate the objective point by point
        out = np.array([obj.value(origin + a[i] * u + c[i] * v, X, y) - F0 for i in range(a.size)])
        return out.reshape(AA.shape), F0
    return _blocks_on_plane(problem, per_sample, z, w, a, c, F0).reshape(AA.shape), F0


def slice_values(problem: ProblemData, origin, basis, A, C) -> tuple[np.ndarray, float]:
    """(F - F(origin)) on the grid A x C (shape (len(C), len(A))) and F(origin)."""
    AA, CC = np.meshgrid(A, C)
    return _data_term_on_grid(problem, np.asarray(origin, float), np.asarray(basis, float), AA, CC)


def _grid_size(problem: ProblemData) -> int:
    obj = problem.objective
    if getattr(obj, "model", "") == "analytic":
        return 161  # point-by-point values: 26 thousand calls
    if obj.model == "linear" and obj.l1 == 0.0:
        return 241
    return int(np.clip(math.sqrt(3e7 / max(problem.X.shape[0], 1)), 41, 161))


def contour_levels(Z: np.ndarray, through: float | None = None) -> np.ndarray:
    """Log-spaced levels of a non-negative field: 1, 2, 5 per decade, four decades below its maximum.

    ``through`` (a constrained run: f(θ*) − min f without constraints), when the field's values
    straddle it, puts a level through θ*, the contour that touches the constraint there, and
    resolves the range the paths live in (at and above it, where 1, 2, 5 per decade leaves a
    band or two): 1, 1.5, 2, 3, 5, 7 per decade from two decades below ``through`` (at most six
    below the maximum), none within 10% of it; 8 log-spaced levels, the nearest replaced by
    ``through``, where that gives fewer than 4 (a frame zoomed in on θ*). :func:`draws_through`
    says whether ``through`` is used."""
    pos = Z[np.isfinite(Z) & (Z > 0)]
    if not pos.size:
        return np.array([1e-16, 1e-15])
    hi = float(pos.max())
    if draws_through(Z, through):
        lo = max(float(pos.min()), through * 1e-2, hi * 1e-6)
        cand = _log_candidates(lo, hi, (1.0, 1.5, 2.0, 3.0, 5.0, 7.0))
        if len(cand) >= 4:
            cand = cand[np.abs(np.log(cand / through)) > math.log(1.1)]
        else:  # a narrow range: 8 levels, the one nearest ``through`` replaced by it
            cand = np.geomspace(lo, hi, 8)
            cand = np.delete(cand, np.argmin(np.abs(np.log(cand / through))))
        return np.sort(np.append(cand, through))
    lo = max(float(pos.min()), hi * 1e-4)
    if hi <= lo * (1 + 1e-9):
        return np.array([lo * 0.5, hi * 2])
    levels = _log_candidates(lo, hi, (1.0, 2.0, 5.0))
    if len(levels) < 4:
        levels = np.geomspace(lo, hi, 8)
    return levels


def linear_levels(Z: np.ndarray, count: int = 12) -> np.ndarray:
    """About ``count`` equally spaced levels at round values (1, 2, 2.5, 5 × 10^k apart) over the
    field's finite range: for a function unbounded below, whose f − (lowest value in the frame)
    puts every log-spaced level in the corner where f dives, and the shape (a saddle's
    hyperbolas, the sign of x²y) in one colour band."""
    vals = Z[np.isfinite(Z)]
    lo, hi = (float(vals.min()), float(vals.max())) if vals.size else (0.0, 1.0)
    if not hi > lo:
        return np.array([lo - 0.5, lo + 0.5])
    raw = (hi - lo) / count
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw)
    levels = np.arange(math.ceil(lo / step) * step, hi + 0.5 * step, step)
    levels = levels[(levels > lo) & (levels < hi)]
    return levels if len(levels) >= 2 else np.linspace(lo, hi, 4)[1:-1]


def draws_through(Z: np.ndarray, through: float | None) -> bool:
    """Whether :func:`contour_levels` puts a level at ``through``: a positive value below the
    field's largest (a level above every value would draw nothing)."""
    if through is None or not math.isfinite(through) or through <= 0.0:
        return False
    pos = Z[np.isfinite(Z) & (Z > 0)]
    return bool(pos.size) and float(pos.min()) < through < float(pos.max())


def _log_candidates(lo: float, hi: float, mantissas: tuple[float, ...]) -> np.ndarray:
    """Every m × 10^k (m in ``mantissas``) in [lo, hi], sorted."""
    decades = np.arange(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    cand = np.sort(np.concatenate([m * 10.0**decades for m in mantissas]))
    return cand[(cand >= lo) & (cand <= hi)]


# --------------------------------------------------------------------------------------------
# contour_data: plane -> paths -> frame -> field


def contour_data(groups: list[Group], x: str = "step", projection: str = "hessian",
                 problem: ProblemData | None = None, why: str | None = None,
                 frame: tuple[float, float, float, float] | None = None) -> ContourData | str:
    """Everything the trajectory-on-contours figure draws, or a string saying why it cannot be drawn.

    ``frame`` = (a_lo, a_hi, c_lo, c_hi) fixes the plotted region (``--xlim/--ylim``, or one
    frame shared by side-by-side panels); by default it holds the paths and θ*."""
    first = groups[0].first
    if problem is None and why is None:
        problem, why = load_problem(first)
    if problem is None:
        return why or "no data"
    if len(first.param_names) == 1:
        return "one parameter: see the loss curve (no plane to draw)"
    ref_runs, note = same_problem_runs(groups)
    notes = [note] if note else []
    origin, basis, native, xlabel, ylabel = _plane(problem, first, ref_runs, projection, notes)
    paths, frame_pts = _paths(groups, ref_runs, origin, basis, native, first.theta_star, x)
    star = None
    if first.theta_star is not None:
        sa, sc, _ = project(first.theta_star[None, :], origin, basis)
        star = (float(sa[0]), float(sc[0]))
    if frame is None:  # the frame fits the paths; a frame given by --xlim/--ylim is kept as is
        frame, equal, why_unequal = fit_frame(_frame(frame_pts, star))
        if not equal:
            notes.append(f"axes not to scale: {why_unequal}")
    else:
        frame = tuple(float(v) for v in frame)
        ratio = (frame[1] - frame[0]) / (frame[3] - frame[2])
        equal = 0.5 <= ratio <= 2.0
    a_lo, a_hi, c_lo, c_hi = frame
    G = _grid_size(problem)
    A, C = np.linspace(a_lo, a_hi, G), np.linspace(c_lo, c_hi, G)
    Z, zlabel, f_ref = _field(problem, first, origin, basis, A, C, notes)
    _path_notes(paths, frame, native, first.theta_star is not None, notes)
    title, sub = figure_title(groups)
    if not native:  # a caption, not the title: many parameters made a five-line title
        notes.insert(0, SUBTITLES["pca" if projection == "pca" else "hessian"])
    # unbounded below (a saddle, x²y): f itself at equal steps shows its shape; log levels of
    # f − (lowest value in the frame) cannot
    linear = first.f_star is None and ((first.summary or {}).get("diagnostics") or {}).get("status") == "unbounded"
    if linear:
        Z, zlabel, f_ref = Z + f_ref, "f(θ)", 0.0
        notes[:] = [n.replace("; levels are f − (lowest value in the frame)", "; contours at equal steps of f")
                    for n in notes]
    return ContourData(A=A, C=C, Z=Z, levels=linear_levels(Z) if linear else contour_levels(Z), zlabel=zlabel,
                       origin=np.asarray(origin, float), basis=basis, native=native, xlabel=xlabel, ylabel=ylabel,
                       paths=paths, star=star, title=title, subtitle=sub, notes=notes, equal_aspect=equal,
                       f_ref=float(f_ref), x_kind=x, linear=linear, level_rule="equal steps" if linear else "1, 2, 5 × 10^k")


def _plane(problem: ProblemData, first: RunData, ref_runs: list[RunData], projection: str, notes: list[str]):
    """(origin, basis, native, xlabel, ylabel): native axes for two parameters, else a plane."""
    if len(first.param_names) == 2:
        one_feature = sum(n.startswith("w_") for n in first.param_names) == 1
        xlabel, ylabel = (_param_axis_label(n, one_feature) for n in first.param_names)
        return np.zeros(2), np.eye(2), True, xlabel, ylabel
    if first.theta_star is not None:
        origin = first.theta_star
    else:
        good = [r for r in ref_runs if not r.diverged and np.all(np.isfinite(r.params[-1]))] or ref_runs
        origin = good[0].params[-1]
        notes.append(f"no θ*: the plane passes through the final point of {good[0].path.name}")
    devs = np.vstack([r.params[thin(len(r.params), 2000)] - origin for r in ref_runs if not r.diverged] or
                     [ref_runs[0].params[:2] - origin])
    basis, xlabel, ylabel, share = plane_basis(problem, origin, projection, devs)
    if projection == "pca" and share is not None:
        notes.append(f"the plane holds {100 * share:.1f}% of the paths' squared deviation from θ*")
    return origin, basis, False, xlabel, ylabel


def _paths(groups: list[Group], ref_runs: list[RunData], origin, basis, native: bool, theta_star, x: str):
    """Each run's projected path, and the points the frame must hold (a diverged run: only the
    part where its loss is at most twice where it started)."""
    paths: list[PathData] = []
    frame_pts = []
    centre = theta_star if theta_star is not None else origin
    for g in groups:
        i_in_group = 0
        for r in g.runs:
            if r not in ref_runs:
                continue
            P = r.params
            lossv = r.trace["loss"].to_numpy(float)
            idx = thin(len(P), 3000)
            a, c, off = project(P[idx], origin, basis)
            dist = np.sqrt(np.sum((P[idx] - centre) ** 2, axis=1))
            fin = np.isfinite(off) & np.isfinite(dist)
            in_view = np.isfinite(lossv[idx]) & (lossv[idx] <= 2.0 * max(lossv[0], 1e-300))
            if r.diverged:  # measure the part of the path that is still in the picture
                fin &= in_view
                in_view[:2] = True
                frame_pts.append((a[in_view], c[in_view]))
            else:
                frame_pts.append((a, c))
            rel_off = float(off[fin].max() / dist[fin].max()) if fin.any() and dist[fin].max() > 0 else 0.0
            paths.append(PathData(a, c, g.label if i_in_group == 0 else None, g.color, g.linestyle, r.diverged,
                                  alpha=1.0 if i_in_group == 0 else 0.35, x=run_x(r, x)[idx],
                                  off_plane=0.0 if native else rel_off))
            i_in_group += 1
    return paths, frame_pts


def _frame(paths_ac: list[tuple[np.ndarray, np.ndarray]], star):
    """The plotted region: every drawn point and theta*, with a 12% margin."""
    pts_a = np.concatenate([p[0] for p in paths_ac] + ([np.array([star[0]])] if star else []))
    pts_c = np.concatenate([p[1] for p in paths_ac] + ([np.array([star[1]])] if star else []))
    ok = np.isfinite(pts_a) & np.isfinite(pts_c)
    pts_a, pts_c = pts_a[ok], pts_c[ok]
    if not pts_a.size:
        return (-1.0, 1.0, -1.0, 1.0)

    def span(p):
        lo, hi = float(p.min()), float(p.max())
        w = hi - lo
        if w <= 1e-12 * max(1.0, abs(lo), abs(hi)):
            w = max(abs(lo), 1.0) * 0.5
            return lo - w, hi + w
        return lo - 0.12 * w, hi + 0.12 * w

    a_lo, a_hi = span(pts_a)
    c_lo, c_hi = span(pts_c)
    return a_lo, a_hi, c_lo, c_hi


MAX_RATIO = 2.0  # the frame's long side at most this many times its short side
MAX_WIDEN = 4.0  # the short side widened at most this many times to get there


def fit_frame(frame):
    """A frame drawn with one scale on both axes (circles stay circles), or why not.

    Unequal scales distort the level sets: a circular bowl drawn as a flat ellipse, gradients no
    longer perpendicular to the contours. So the axes share one scale, and a frame whose sides
    differ by more than ``MAX_RATIO`` is widened on its short side (centred) until they do not,
    which keeps the picture from becoming a strip. When that would need the short side more
    than ``MAX_WIDEN`` times wider (the paths would shrink to a line along it), the scales stay
    unequal and the returned reason is shown on the figure ("axes not to scale").
    Returns (frame, equal, reason)."""
    a_lo, a_hi, c_lo, c_hi = frame
    wa, wc = a_hi - a_lo, c_hi - c_lo
    long_, short = max(wa, wc), min(wa, wc)
    if long_ <= MAX_RATIO * short:
        return frame, True, ""
    need = long_ / MAX_RATIO
    if need > MAX_WIDEN * short:
        unit = "horizontal" if wa > wc else "vertical"
        return frame, False, (f"the {unit} axis spans {long_ / short:.0f}× the other; one scale on both would "
                              "flatten the paths to a line")
    if wa < wc:
        mid = 0.5 * (a_lo + a_hi)
        return (mid - need / 2, mid + need / 2, c_lo, c_hi), True, ""
    mid = 0.5 * (c_lo + c_hi)
    return (a_lo, a_hi, mid - need / 2, mid + need / 2), True, ""


def _field(problem: ProblemData, first: RunData, origin, basis, A, C, notes: list[str]):
    """(Z, its label, f_ref): f − f* on the grid, or f − (lowest value in the frame) without f*."""
    vals, F0 = slice_values(problem, origin, basis, A, C)
    if first.f_star is not None:
        return vals + (F0 - first.f_star), "f(θ) − f*", first.f_star
    zmin = float(np.nanmin(vals))
    notes.append(why_no_reference(first, "f*") + "; levels are f − (lowest value in the frame)")
    return vals - zmin, "f(θ) − min over the frame", F0 + zmin


def _path_notes(paths: list[PathData], frame, native: bool, has_star: bool, notes: list[str]) -> None:
    """Mark diverged paths that leave the frame; say how far the paths leave the plane."""
    a_lo, a_hi, c_lo, c_hi = frame
    for pth in paths:
        pth.exits = bool(pth.diverged and (
            np.any(~np.isfinite(pth.a)) or np.nanmax(np.abs(pth.a)) > max(abs(a_lo), abs(a_hi))
            or np.nanmax(np.abs(pth.c)) > max(abs(c_lo), abs(c_hi))))
    if not native and paths:
        worst = max(paths, key=lambda q: q.off_plane)
        notes.append(f"paths leave the plane by at most {100 * worst.off_plane:.1f}% of their distance to "
                     f"{'θ*' if has_star else 'the origin'} ({worst.label or 'a seed'})")
    if any(pth.exits for pth in paths):
        notes.append("× : a diverged run leaves the frame there")


def _param_axis_label(name: str, one_feature: bool = True) -> str:
    if name == "b":
        return "b (intercept)"
    if name.startswith("w_"):
        return f"{name} ({'slope' if one_feature else 'weight'})"
    return name
