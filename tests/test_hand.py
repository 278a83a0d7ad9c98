"""A 2-2-1 network (sigmoid, squared error) worked out by hand, one sample, one update.

Inputs y_1 = 1, y_2 = 0 (the input layer's outputs); target t = 1; η = 0.5.
Hidden weights w_11 = 0.5, w_21 = −0.5 (into hidden neuron 1), w_12 = 1, w_22 = 2 (into
hidden neuron 2), b_1 = 0, b_2 = −1. Output weights w_1k = 1, w_2k = −1, b_k = 0.5.

Forward (σ(u) = 1 / (1 + e^(−u))):
  u_1 = 1·0.5 + 0·(−0.5) + 0 = 0.5            y_1 = σ(0.5) = 0.6224593312
  u_2 = 1·1 + 0·2 − 1 = 0                     y_2 = σ(0) = 0.5
  u_k = 0.6224593312·1 + 0.5·(−1) + 0.5 = 0.6224593312
  y_k = σ(0.6224593312) = 0.6507776782
  E = ½ (y_k − t)² = ½ (−0.3492223218)² = 0.0609781150
Output layer:
  δ_k = (y_k − t) y_k (1 − y_k) = −0.3492223218 · 0.6507776782 · 0.3492223218 = −0.0793663922
  ∂w_1k = y_1 δ_k = −0.0494023514     ∂w_2k = y_2 δ_k = −0.0396831961     ∂b_k = δ_k
Hidden layer:
  ∂y_1 = δ_k w_1k = −0.0793663922     ∂y_2 = δ_k w_2k = +0.0793663922
  δ_1 = ∂y_1 y_1 (1 − y_1) = −0.0793663922 · 0.2350037122 = −0.0186513968
  δ_2 = ∂y_2 y_2 (1 − y_2) = +0.0793663922 · 0.25 = +0.0198415981
  ∂w_11 = 1·δ_1 = −0.0186513968   ∂w_12 = 1·δ_2 = 0.0198415981   ∂w_21 = ∂w_22 = 0 (y_2 input is 0)
  ∂b_1 = δ_1,  ∂b_2 = δ_2
Update w ← w − η ∂w (η = 0.5):
  w_1k = 1 + 0.5·0.0494023514 = 1.0247011757      w_2k = −1 + 0.5·0.0396831961 = −0.9801584019
  b_k = 0.5 + 0.5·0.0793663922 = 0.5396831961
  w_11 = 0.5 + 0.5·0.0186513968 = 0.5093256984    w_12 = 1 − 0.5·0.0198415981 = 0.9900792010
  b_1 = 0.0093256984                             b_2 = −1 − 0.5·0.0198415981 = −1.0099207990
"""

import numpy as np

import nbmlp


def hand_net():
    net = nbmlp.MLP([2, 2, 1], activation="sigmoid", output="sigmoid", loss="squared_error", dtype="float64")
    net.weights[0][...] = [[0.5, 1.0], [-0.5, 2.0]]
    net.biases[0][...] = [0.0, -1.0]
    net.weights[1][...] = [[1.0], [-1.0]]
    net.biases[1][...] = [0.5]
    return net


X, T = np.array([[1.0, 0.0]]), np.array([[1.0]])


def test_forward_by_hand():
    np.testing.assert_allclose(hand_net().forward(X), [[0.6507776782]], atol=1e-10)


def test_gradients_by_hand():
    E, dW, db = hand_net().gradients(X, T)
    assert abs(E - 0.0609781150) < 1e-10
    np.testing.assert_allclose(dW[1], [[-0.0494023514], [-0.0396831961]], atol=1e-10)
    np.testing.assert_allclose(db[1], [-0.0793663922], atol=1e-10)
    np.testing.assert_allclose(dW[0], [[-0.0186513968, 0.0198415981], [0.0, 0.0]], atol=1e-10)
    np.testing.assert_allclose(db[0], [-0.0186513968, 0.0198415981], atol=1e-10)


def test_one_update_by_hand():
    net = hand_net()
    hist = net.fit(X, T, epochs=1, batch_size=1, lr=0.5, shuffle=False)
    assert abs(hist[0] - 0.0609781150) < 1e-10
    np.testing.assert_allclose(net.weights[1], [[1.0247011757], [-0.9801584019]], atol=1e-10)
    np.testing.assert_allclose(net.biases[1], [0.5396831961], atol=1e-10)
    np.testing.assert_allclose(net.weights[0], [[0.5093256984, 0.9900792010], [-0.5, 2.0]], atol=1e-10)
    np.testing.assert_allclose(net.biases[0], [0.0093256984, -1.0099207990], atol=1e-10)
