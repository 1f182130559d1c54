"""Bounding boxes and segmentation masks as weak saliency (+1 on the object, -1 elsewhere)."""

import numpy as np
import pytest

from tfrobust import saliency


@pytest.mark.jax
def test_boxes_in_normalised_and_pixel_coordinates_with_padding():
    boxes = [[[0.0, 0.0, 0.5, 0.5], [np.nan] * 4], [[0.5, 0.25, 1.0, 0.75], [0.0, 0.75, 0.25, 1.0]]]
    s = saliency.boxes_to_saliency(boxes, (4, 4))
    assert s.shape == (2, 4, 4, 1) and set(np.unique(s)) == {-1.0, 1.0}
    assert s[0, :, :, 0].tolist() == [[1, 1, -1, -1], [1, 1, -1, -1]] + [[-1] * 4] * 2
    assert s[1, :, :, 0].tolist() == [[-1, -1, -1, 1], [-1] * 4, [-1, 1, 1, -1], [-1, 1, 1, -1]]
    pixels = saliency.boxes_to_saliency([[0, 0, 2, 2]], (4, 4), normalized=False)
    np.testing.assert_array_equal(pixels[0], s[0])


@pytest.mark.jax
def test_masks_and_dataset_inputs():
    masks = np.array([[[0, 3], [1, 0]]])
    np.testing.assert_array_equal(saliency.mask_to_saliency(masks)[0, :, :, 0], [[-1, 1], [1, -1]])
    inputs = saliency.with_saliency(np.zeros((1, 2, 2, 3)), saliency.mask_to_saliency(masks))
    assert set(inputs) == {"image", "saliency"}
    with pytest.raises(ValueError, match="Received: saliency.shape"):
        saliency.with_saliency(np.zeros((1, 2, 2, 3)), np.zeros((1, 3, 3, 1)))
    with pytest.raises(ValueError, match="Received: boxes.shape"):
        saliency.boxes_to_saliency([0.0, 0.0, 1.0], (2, 2))
