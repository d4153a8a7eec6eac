"""The served networks: who they are and how each is trained. No TensorFlow here.

``digit-lens`` is the project's own network (trained by ``train.fit``); the
others are the seeds' networks, each built by ``train.model`` exactly as its
seed defines it and trained the way its seed trains it (where the seed says;
where it does not, the recipe says what was chosen instead). Each recipe's
``notes`` go into the network's model card, so a learner can read what was
taken from the seed and what had to be decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_NETWORK = "digit-lens"
MNIST_SIZE = 28


@dataclass(frozen=True)
class Recipe:
    """How a seed network is trained: plain MNIST (no augmentation), all 60,000 training images."""

    optimizer: str  # a keras.optimizers class name
    learning_rate: float
    batch_size: int
    epochs: int
    optimizer_settings: dict = field(default_factory=dict)
    learning_rate_decay: dict | None = None  # {"every_epochs": n, "factor": f}: a step schedule
    initializer: dict | None = None  # {"kernel": ..., "bias": ...}; None: Keras's defaults
    source: str = ""  # where the recipe comes from
    # A measured alternative the card reports beside the choice made (keras-mnist's Adadelta rate).
    comparison: dict | None = None


@dataclass(frozen=True)
class Network:
    name: str
    title: str
    source: str
    input_size: int  # 28, or 32 for MNIST's 28x28 centred in a 32x32 field
    parameters: int  # as the seed's own summary counts them
    recipe: Recipe | None  # None: trained by train.fit (digit-lens)
    notes: tuple[str, ...] = ()
    # The lesson as its readers know it, for the record page: {"book", "chapter", "chapter_title"} for the
    # book's own network; {"article", "seed", "site"?, "book"?, "chapter"?} for a seed article's.
    lesson: dict | None = None


BOOK = "ゼロから作るDeep Learning"  # 斎藤康毅, O'Reilly Japan, 2016; the book seed 000 works through
SEED_000_TITLE = "ゼロから作るDeepLearning #10 - 畳み込みニューラルネットワーク -"  # Qiita, Advent Calendar 2024 day 24
# Seeds 002 and 004 carry no title of their own: 002 is named by its first heading, 004 by the subject its
# first lines name.
SEED_002_TITLE = "畳み込みニューラルネットワーク"
SEED_004_TITLE = "畳み込みニューラルネットワーク(CNN)"


# Keras 3's Adadelta defaults to learning_rate=0.001; the Keras of seed 004's
# script (2.0-2.2, Adadelta(lr=1.0, rho=0.95, epsilon=1e-7)) used 1.0. The
# script is trained as written then: with 1.0. The other choice, measured with
# `python -m train --model keras-mnist --learning-rate 0.001 --out <folder>`
# (same seed, same 12 epochs), is recorded here and in the card.
KERAS_MNIST_ADADELTA_RATE = 1.0

# LeNet-5's own schedule (LeCun, Bottou, Bengio, Haffner 1998, section V-A: the global rate is
# 0.0005 for the first two passes, 0.0002 for the next three, 0.0001 for the next three, 0.00005
# for the next four, 0.00001 thereafter; 20 passes), as factors of the optimizer's rate.
LENET5_SCHEDULE = {
    "after_epochs": [2, 5, 8, 12],
    "factors": [1.0, 0.4, 0.2, 0.1, 0.02],
    "source": "LeNet-5's schedule (LeCun et al. 1998, V-A): x1 for 2 epochs, x0.4 for 3, x0.2 for 3, x0.1 for 4, x0.02 after",
}
KERAS_MNIST_OTHER_RATE = 0.001

NETWORKS: dict[str, Network] = {
    network.name: network
    for network in (
        Network(
            name="digit-lens",
            title="digit-lens",
            source="the project's own network (train/model.py build_model)",
            input_size=MNIST_SIZE,
            parameters=430_698,
            recipe=None,
        ),
        Network(
            name="lenet",
            title="LeNet (Keras)",
            source="seed 000: the Keras LeNet of a 「ゼロから作るDeep Learning」 ch. 7 study (Qiita, Advent Calendar 2024 day 24)",
            lesson={"article": SEED_000_TITLE, "site": "Qiita", "seed": "000", "book": BOOK, "chapter": 7},
            input_size=32,
            parameters=61_706,
            recipe=Recipe(
                optimizer="Adam",
                learning_rate=0.001,
                batch_size=100,
                epochs=20,
                learning_rate_decay=LENET5_SCHEDULE,
                source="the seed only builds the model (its author never trained it); it is trained like the "
                "book chapter the seed studies trains its SimpleConvNet (Adam lr 0.001, batch 100, 20 epochs), "
                "with LeNet-5's own decreasing learning-rate schedule over the 20 epochs",
            ),
            notes=(
                "Layers exactly as the seed's model.summary(): Conv 6@5x5, max-pool 2x2, Conv 16@5x5, max-pool 2x2, "
                "Dense 120, Dense 84, Dense 10 (61,706 parameters).",
                "The seed's activation='relu' inside each Conv2D/Dense is split into a ReLU layer of its own, and its "
                "Dense(10, activation='softmax') into logits + Softmax, so the layers page can show a convolution "
                "before and after ReLU; the arithmetic is the same.",
                "Input 32x32 as LeNet-5's: MNIST's 28x28 digit centred in a 32x32 field with a 2-pixel zero border, "
                "in training and in serving (webapp.model.fit_to_input).",
                "Accuracy: LeNet-5's paper reports 0.95% test error (99.05%) without distortions. With the book's "
                "constant Adam rate this network ended at 98.62% (test accuracy swinging 98.1-98.9% from epoch to "
                "epoch, the last epoch kept); LeNet-5 lowered its rate in steps over its 20 passes, so the rate "
                "follows that schedule here (x1, x0.4, x0.2, x0.1, x0.02 after epochs 2, 5, 8, 12). Still differs "
                "from the paper: Adam instead of its diagonal Levenberg-Marquardt, ReLU and max-pooling instead of "
                "scaled tanh and trainable sub-sampling, a full Dense(10) instead of RBF outputs.",
            ),
        ),
        Network(
            name="keras-mnist",
            title="Keras MNIST example",
            source="seed 004: the classic Keras mnist_cnn.py script",
            lesson={"article": SEED_004_TITLE, "seed": "004"},
            input_size=MNIST_SIZE,
            parameters=1_199_882,
            recipe=Recipe(
                optimizer="Adadelta",
                learning_rate=KERAS_MNIST_ADADELTA_RATE,
                optimizer_settings={"rho": 0.95, "epsilon": 1e-7},
                batch_size=128,
                epochs=12,
                source="the seed's script: Adadelta, batch 128, 12 epochs, categorical cross-entropy",
                comparison={
                    "learning_rate": KERAS_MNIST_OTHER_RATE,
                    "why": "Keras 3's default Adadelta learning rate (the script's era: 1.0)",
                    "test_accuracy": 0.855,
                    "test_accuracy_per_epoch": [0.3407, 0.5124, 0.6534, 0.7106, 0.7506, 0.7752, 0.7973, 0.8146, 0.8276, 0.8372, 0.8451, 0.855],
                    "command": "python -m train --model keras-mnist --learning-rate 0.001 (same seed and epochs)",
                },
            ),
            notes=(
                "Layers exactly as the seed's script: Conv 32@3x3, Conv 64@3x3, max-pool 2x2, dropout 0.25, flatten, "
                "Dense 128, dropout 0.5, Dense 10 (1,199,882 parameters).",
                "ReLU and softmax are layers of their own (the script puts them inside Conv2D/Dense); same arithmetic.",
                "Adadelta's learning rate: Keras 3 defaults to 0.001, the Keras the script was written for "
                "(2.0-2.2: Adadelta(lr=1.0, rho=0.95)) to 1.0. Trained with 1.0, as the script ran then; "
                "see training.optimizer_comparison for what 0.001 gives.",
                "Like the script, it trains on all 60,000 training images and reports the test set after each epoch "
                "(the learning curves' val_*); the test set never chooses the weights: the last epoch's are kept.",
                "Accuracy: the script's comment says 99.25% after 12 epochs, one run on the Keras and TensorFlow of "
                "its day. The recipe here is the script's in every setting we could find (Adadelta 1.0, rho 0.95, "
                "epsilon 1e-7, batch 128, 12 epochs, Glorot uniform weights, shuffled each epoch, last epoch kept); "
                "what still differs is the random seed, the framework's random streams and its kernels, which "
                "move a run's last-epoch figure by a few tenths of a percent. The figure is not chased by trying "
                "seeds against the test set.",
            ),
        ),
        Network(
            name="torch-net",
            title="PyTorch Net",
            source="seed 002: the PyTorch Net of a CNN introduction (Conv 8@5x5, pool, Conv 16@5x5, pool, "
            "Linear 400->256, dropout, Linear 10)",
            lesson={"article": SEED_002_TITLE, "seed": "002"},
            input_size=32,
            parameters=108_650,
            recipe=Recipe(
                optimizer="Adadelta",
                learning_rate=1.0,
                optimizer_settings={"rho": 0.9, "epsilon": 1e-6},
                learning_rate_decay={"every_epochs": 1, "factor": 0.7},
                batch_size=64,
                epochs=14,
                source="the seed defines Net but never trains it; it is trained with PyTorch's own MNIST "
                "example (pytorch/examples mnist/main.py): Adadelta lr 1.0 (PyTorch's rho 0.9, eps 1e-6), "
                "the rate times 0.7 after every epoch, batch 64, 14 epochs, cross-entropy on the logits",
            ),
            notes=(
                "Re-expressed in Keras for a 1x32x32 digit: the seed's Conv2d(3, 8, 5) takes RGB; MNIST is grey, so "
                "Conv2d(1, 8, 5). Parameters: 208 + 3,216 + 102,656 + 2,570 = 108,650.",
                "The seed's forward() calls self.fc, which __init__ never defines: it means self.fc1 (Linear 400->256), "
                "which is what this network uses.",
                "The seed's forward() never flattens the 16x5x5 pooled maps before fc1 (PyTorch would refuse the "
                "shapes); a Flatten layer does it here, as torch.flatten(x, 1) would.",
                "The seed's one self.pool and one self.relu, applied twice, are separate named layers here "
                "(pool1, pool2, relu1..relu3): they have no weights, so nothing changes but the names.",
                "The order is the seed's: fc1, ReLU, dropout 0.5, fc2. A Softmax layer (no parameters) turns fc2's "
                "logits into the probabilities the app shows; PyTorch's CrossEntropyLoss does the same inside the loss.",
                "Input 32x32: MNIST's 28x28 digit centred in a 32x32 field with a 2-pixel zero border.",
                "Keras's default initialisers (Glorot uniform, zero biases), not PyTorch's; pixels scaled to [0, 1] "
                "(PyTorch's example also standardises them with MNIST's mean and deviation; not done here).",
            ),
        ),
        Network(
            name="simple-convnet",
            title="SimpleConvNet",
            source="「ゼロから作るDeep Learning」 ch. 7 (ch07/simple_convnet.py, train_convnet.py), the book seed 000 studies",
            lesson={"book": BOOK, "chapter": 7, "chapter_title": "畳み込みニューラルネットワーク"},
            input_size=MNIST_SIZE,
            parameters=433_890,
            recipe=Recipe(
                optimizer="Adam",
                learning_rate=0.001,
                batch_size=100,
                epochs=20,
                initializer={"kernel": "normal, standard deviation 0.01", "bias": "zeros"},
                learning_rate_decay=LENET5_SCHEDULE,
                source="the book's train_convnet.py: Adam lr 0.001, batch 100, 20 epochs, weights drawn from "
                "N(0, 0.01^2) and zero biases (weight_init_std=0.01); the rate lowered in steps as LeNet-5's was "
                "(the book keeps it constant: see the notes)",
            ),
            notes=(
                "Layers as the book's: Convolution (30 filters 5x5, pad 0, stride 1), Relu, Pooling (2x2, stride 2), "
                "Affine 100, Relu, Affine 10, softmax (433,890 parameters).",
                "The book's Affine flattens its input itself; here a Flatten layer does it.",
                "The book's trainer reports the accuracy on (a sample of) the test set after each epoch; here the "
                "whole test set (the learning curves' val_*). The test set never chooses the weights.",
                "Accuracy: the book reports about 99% on the test set. Its recipe as written (constant Adam rate "
                "0.001) ended here at 98.61%, the test accuracy swinging 98.1-98.9% from epoch to epoch with the "
                "last epoch kept. Nothing else in the recipe differs that we found (the book's Trainer draws each "
                "batch at random with replacement, Keras shuffles once per epoch; the book computes in float64). "
                "Chosen: the book's recipe with the rate lowered in steps, as LeNet-5 (the network the chapter "
                "presents as the first CNN) did: x1, x0.4, x0.2, x0.1, x0.02 after epochs 2, 5, 8, 12. With it: 98.66%, "
                "still 0.3 points short of the book's figure; the book's float64 arithmetic and random batches were not tried.",
            ),
        ),
    )
}

SEED_NETWORKS = tuple(name for name, network in NETWORKS.items() if network.recipe is not None)


def get(name: str) -> Network:
    """The network called ``name``.

    Raises:
        KeyError: no such network; the message lists the known names.
    """
    try:
        return NETWORKS[name]
    except KeyError:
        raise KeyError(f"unknown network {name!r}; known: {', '.join(NETWORKS)}") from None
