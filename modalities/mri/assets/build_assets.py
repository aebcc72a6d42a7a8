#!/usr/bin/env python3
"""Builds the small Colin27 assets of geoclr's synthetic brain cohort from Debian's mricron-data.

Run once, offline; its outputs are committed (see NOTICE):

    apt-get download mricron-data && dpkg -x mricron-data_*.deb x
    /usr/bin/python3 modalities/mri/assets/build_assets.py x/usr/share/mricron/templates modalities/mri/assets

Outputs, on the MNI 2 mm grid (91 x 109 x 91, RAS, origin -90, -126, -72):
  colin27_t1_2mm.nii.gz      ch2bet (skull-stripped Colin27 T1) anti-aliased (Gaussian, sigma 0.85 mm) and
                             subsampled at the 2 mm voxel centres; uint8 as the source.
  colin27_labels_2mm.nii.gz  region map (uint8; ids in colin27_labels_2mm.tsv): AAL regions grouped into
                             frontal lobe / lateral temporal / medial temporal / other cerebrum / deep grey
                             matter / cerebellum (MRIcron's AAL image fills grey and white matter alike); lateral ventricles = the largest dark (T1 < 55), unlabelled connected
                             component near the midline; the rest of the brain split into tissue (T1 >= 55) and
                             CSF. 1 mm labels are reduced to 2 mm by a majority vote over the 3 x 3 x 3 voxels
                             around each 2 mm centre.
"""
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as nd

REGIONS = [
    (0, 'background'),
    (1, 'cerebrum_other'),  # AAL's remaining cerebral regions (parietal, occipital, insula, cingulate)
    (2, 'frontal_lobe'),
    (3, 'temporal_lobe_lateral'),  # incl. fusiform
    (4, 'medial_temporal'),  # hippocampus, parahippocampal gyrus, amygdala
    (5, 'deep_grey'),  # caudate, putamen, pallidum, thalamus
    (6, 'cerebellum'),
    (7, 'ventricles'),
    (8, 'unlabelled_tissue'),  # outside AAL, T1 >= 55 (mostly deep white matter, brainstem)
    (9, 'csf'),  # outside AAL, dark, not ventricular
]
AAL_GROUPS = {
    2: list(range(1, 29)) + [31, 32],
    3: list(range(79, 91)) + [55, 56],
    4: list(range(37, 43)),
    5: list(range(71, 79)),
    6: list(range(91, 117)),
}
CSF_T1 = 55


def main(src: Path, out: Path) -> None:
    t1_img = nib.load(src / 'ch2bet.nii.gz')
    aal_img = nib.load(src / 'aal.nii.gz')
    assert np.allclose(t1_img.affine, aal_img.affine) and np.allclose(t1_img.affine[:3, :3], np.eye(3))
    t1 = np.asanyarray(t1_img.dataobj).astype(np.float64)
    aal = np.asanyarray(aal_img.dataobj).astype(np.int32)
    brain = t1 > 0

    regions = np.zeros(t1.shape, np.uint8)
    regions[brain & (aal > 0)] = 1
    for rid, labels in AAL_GROUPS.items():
        regions[np.isin(aal, labels)] = rid
    unl = brain & (aal == 0)
    regions[unl & (t1 >= CSF_T1)] = 8
    regions[unl & (t1 < CSF_T1)] = 9
    # lateral (+ third) ventricles: largest dark unlabelled component in a box around the midline
    origin = -t1_img.affine[:3, 3]
    i, j, k = np.meshgrid(*[np.arange(n) - o for n, o in zip(t1.shape, origin)], indexing='ij')
    box = (abs(i) < 32) & (j > -50) & (j < 35) & (k > -12) & (k < 38)
    dark = unl & (t1 < CSF_T1) & box
    lab, n = nd.label(dark)
    sizes = nd.sum(dark, lab, range(1, n + 1))
    regions[lab == (1 + int(np.argmax(sizes)))] = 7

    # 2 mm grid: voxel I <-> x = 2I - 90, y = 2J - 126, z = 2K - 72
    aff2 = np.diag([2.0, 2.0, 2.0, 1.0])
    aff2[:3, 3] = [-90, -126, -72]
    shape2 = (91, 109, 91)
    to1 = np.linalg.inv(t1_img.affine) @ aff2  # 2 mm voxel -> 1 mm voxel (integer, axis-aligned)
    idx = [np.round(to1[a, a] * np.arange(shape2[a]) + to1[a, 3]).astype(int) for a in range(3)]

    smooth = nd.gaussian_filter(t1, 0.85, mode='constant')
    valid = [(ix >= 0) & (ix < t1.shape[a]) for a, ix in enumerate(idx)]
    t1_2 = smooth[np.ix_(*[np.clip(ix, 0, t1.shape[a] - 1) for a, ix in enumerate(idx)])]
    t1_2[~np.logical_and.reduce(np.meshgrid(*valid, indexing='ij'))] = 0
    t1_2 = np.clip(np.round(t1_2), 0, 255).astype(np.uint8)

    votes = np.zeros(shape2 + (len(REGIONS),), np.int16)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for dz in (-1, 0, 1):
                sel = [np.clip(ix + d, 0, t1.shape[a] - 1) for a, (ix, d) in enumerate(zip(idx, (dx, dy, dz)))]
                r = regions[np.ix_(*sel)]
                for rid, _ in REGIONS:
                    votes[..., rid] += r == rid
    labels2 = np.argmax(votes, axis=-1).astype(np.uint8)
    labels2[t1_2 == 0] = 0

    for name, arr in (('colin27_t1_2mm.nii.gz', t1_2), ('colin27_labels_2mm.nii.gz', labels2)):
        img = nib.Nifti1Image(arr, aff2)
        img.set_sform(aff2, code=4)
        img.set_qform(aff2, code=4)
        nib.save(img, out / name)
    with open(out / 'colin27_labels_2mm.tsv', 'w') as f:
        f.write('id\tname\tvoxels\n')
        for rid, name in REGIONS:
            f.write(f'{rid}\t{name}\t{int((labels2 == rid).sum())}\n')
    print('wrote', out, {name: int((labels2 == rid).sum()) for rid, name in REGIONS})


if __name__ == '__main__':
    main(Path(sys.argv[1]), Path(sys.argv[2]))
