import os
os.environ["CUDA_VISIBLE_DEVICES"]=""
import keras
from keras import layers
# Architecture A: image + feature, two outputs
image = keras.Input((28, 28, 1), name="image")
ink = keras.Input((1,), name="ink")
h = layers.Conv2D(8, 3, activation="relu")(image)
h = layers.MaxPooling2D(2)(h)
h = layers.Flatten()(h)
h = layers.Concatenate()([h, ink])
h = layers.Dense(32, activation="relu")(h)
cls = layers.Dense(10, activation="softmax", name="class")(h)
reg = layers.Dense(1, name="brightness")(h)
m = keras.Model([image, ink], [cls, reg])
print("A", m.count_params(), sum(int(w.numpy().size) for w in m.trainable_weights))
# Architecture B: siamese shared dense + dot + frozen layer
a = keras.Input((6,)); b = keras.Input((6,))
shared = layers.Dense(4, activation="tanh")
frozen = layers.Dense(5)
frozen.trainable = False
za = shared(frozen(a)); zb = shared(frozen(b))
d = layers.Dot(axes=1, normalize=True)([za, zb])
s = layers.Subtract()([za, zb])
o = layers.Dense(1)(layers.Concatenate()([d, s]))
m2 = keras.Model([a, b], o)
print("B", m2.count_params(), sum(int(w.numpy().size) for w in m2.trainable_weights), m2.output.shape)
m2.summary()
