"""Standard CIFAR augmentation: zero-pad, random crop back, random horizontal flip.

Stateless: each image's crop and flip are drawn from a seed given with it, so
they depend on the data and the seed only, not on how many images a stateful
generator has served before. A resumed training run therefore sees the same
crops as an uninterrupted one (`tfrobust.data.epochs`), and a parallel
`tf.data` map cannot reorder the draws.
"""


def augment(x, seed, padding=4, flip=True):
    """One HWC image padded by `padding`, cropped back and maybe flipped, drawn from
    the stateless `seed` (an int tensor of shape (2,))."""
    import tensorflow as tf

    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    padded = tf.pad(x, [[padding, padding], [padding, padding], [0, 0]])
    x = tf.image.stateless_random_crop(padded, tf.shape(x), seed=crop_seed)
    if flip:
        x = tf.image.stateless_random_flip_left_right(x, seed=flip_seed)
    return x
