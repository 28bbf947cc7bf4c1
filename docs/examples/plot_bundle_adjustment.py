"""
Bundle adjustment with ``least_squares``
========================================

Bundle adjustment fits camera poses and 3D points to the image positions at which each
camera saw each point. Every residual depends on one camera and one point only, so the
Jacobian is very sparse and block-structured, and ``scipy.optimize.least_squares`` with a
sparse Jacobian (its ``lsmr`` trust-region solver) handles thousands of unknowns.

This small synthetic problem has simple cameras (a rotation about the vertical axis, a
translation and a focal length) observing random points. The residuals are written with
plain numpy, indexing into the parameter vector; :func:`sparsead.least_squares_jacobian`
finds the block pattern by tracing and colors it.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import least_squares

import sparsead

rng = np.random.default_rng(0)
n_cameras, n_points, n_obs_per_point = 8, 120, 4
CAM, PT = 5, 3                      # parameters per camera (angle, t, focal), per point

true_cams = np.column_stack([
    np.linspace(-0.4, 0.4, n_cameras),                        # rotation angle
    rng.normal(0.0, 0.3, (n_cameras, 3)) + [0.0, 0.0, 6.0],   # translation
    np.full(n_cameras, 800.0),                                 # focal length
])
true_points = rng.normal(0.0, 1.0, (n_points, 3))
cam_idx = np.concatenate([rng.choice(n_cameras, n_obs_per_point, replace=False)
                          for _ in range(n_points)])
pt_idx = np.repeat(np.arange(n_points), n_obs_per_point)


def project(cams, points):
    angle, t, focal = cams[:, 0], cams[:, 1:4], cams[:, 4]
    c, s = np.cos(angle), np.sin(angle)
    X = c * points[:, 0] + s * points[:, 2] + t[:, 0]     # rotate about y, translate
    Y = points[:, 1] + t[:, 1]
    Z = -s * points[:, 0] + c * points[:, 2] + t[:, 2]
    return np.stack([focal * X / Z, focal * Y / Z], axis=1)


def residuals(params, observed):
    cams = params[:n_cameras * CAM].reshape(n_cameras, CAM)
    points = params[n_cameras * CAM:].reshape(n_points, PT)
    return (project(cams[cam_idx], points[pt_idx]) - observed).ravel()


observed = project(true_cams[cam_idx], true_points[pt_idx]) + rng.normal(0, 0.5, (pt_idx.size, 2))
x0 = np.concatenate([(true_cams + rng.normal(0, [0.02, 0.05, 0.05, 0.05, 5.0],
                                             true_cams.shape)).ravel(),
                     (true_points + rng.normal(0, 0.1, true_points.shape)).ravel()])

# %%
# Prepare the sparse Jacobian
# ---------------------------

jac = sparsead.least_squares_jacobian(residuals, x0, args=(observed,))
J = jac.prepared
print(J)
print(f"{J.shape[0]} residuals, {J.shape[1]} unknowns: {J.ncolors} evaluations of the "
      f"residuals per Jacobian instead of {J.shape[1]}")

# %%
# Solve
# -----

fit = least_squares(residuals, x0, jac=jac, args=(observed,), x_scale="jac")
rms0 = np.sqrt(np.mean(residuals(x0, observed) ** 2))
print(f"status {fit.status}: rms reprojection error {rms0:.2f} -> "
      f"{np.sqrt(np.mean(fit.fun ** 2)):.2f} pixels in {fit.njev} Jacobians")

# %%
# The block structure
# -------------------
# Camera columns first (5 each), then point columns (3 each); every row touches one
# camera block and one point block.

fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
ax.spy(J.sparsity, markersize=0.5, aspect="auto")
ax.set_xlabel("unknowns: cameras | points")
ax.set_ylabel("residuals")
plt.show()
