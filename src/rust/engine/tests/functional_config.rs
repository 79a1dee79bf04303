//! Functional models in `config.json`. The tests compare the config written
//! for a graph with two inputs, a shared layer, merge layers, a frozen layer
//! and two compiled outputs with Keras's, read Keras's config back into a
//! graph, and check the errors for broken graphs.

use engine::activations::Activation;
use engine::init::Initializer;
use engine::io::keras_config::{model_config, model_from_config};
use engine::layers::merge::{Concatenate, Dot, Elementwise, ElementwiseOp};
use engine::losses::Loss;
use engine::metrics::{Metric, MetricKind};
use engine::model::{Compiled, Head, Model, Src};
use engine::optim::{Optimizer, OptimizerKind};
use serde_json::{json, Value};

/// The config.json that Keras 3.15.1 (TensorFlow backend) saves for the
/// model of `keras_twin()`: written by `tools/golden/functional_config.py`,
/// with the `shared_object_id` keys (Python object ids) removed.
const KERAS_CONFIG: &str = r#"{
 "build_config": {
  "input_shape": null
 },
 "class_name": "Functional",
 "compile_config": {
  "jit_compile": false,
  "loss": {
   "class": "sparse_categorical_crossentropy",
   "size": "mse"
  },
  "loss_weights": {
   "class": 1.0,
   "size": 0.5
  },
  "metrics": {
   "class": [
    "accuracy"
   ],
   "size": [
    "mae"
   ]
  },
  "optimizer": {
   "class_name": "Adam",
   "config": {
    "amsgrad": false,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "clipnorm": null,
    "clipvalue": null,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": null,
    "epsilon": 1e-07,
    "global_clipnorm": null,
    "gradient_accumulation_steps": null,
    "learning_rate": 0.009999999776482582,
    "loss_scale_factor": null,
    "name": "adam",
    "use_ema": false,
    "weight_decay": null
   },
   "module": "keras.optimizers",
   "registered_name": null
  },
  "run_eagerly": false,
  "steps_per_execution": 1,
  "weighted_metrics": null
 },
 "config": {
  "input_layers": [
   [
    "a",
    0,
    0
   ],
   [
    "b",
    0,
    0
   ]
  ],
  "layers": [
   {
    "class_name": "InputLayer",
    "config": {
     "batch_shape": [
      null,
      4
     ],
     "dtype": "float32",
     "name": "a",
     "optional": false,
     "ragged": false,
     "sparse": false
    },
    "inbound_nodes": [],
    "module": "keras.layers",
    "name": "a",
    "registered_name": null
   },
   {
    "class_name": "InputLayer",
    "config": {
     "batch_shape": [
      null,
      4
     ],
     "dtype": "float32",
     "name": "b",
     "optional": false,
     "ragged": false,
     "sparse": false
    },
    "inbound_nodes": [],
    "module": "keras.layers",
    "name": "b",
    "registered_name": null
   },
   {
    "build_config": {
     "input_shape": [
      null,
      4
     ]
    },
    "class_name": "Dense",
    "config": {
     "activation": "relu",
     "bias_constraint": null,
     "bias_initializer": {
      "class_name": "Zeros",
      "config": {},
      "module": "keras.initializers",
      "registered_name": null
     },
     "bias_regularizer": null,
     "dtype": {
      "class_name": "DTypePolicy",
      "config": {
       "name": "float32"
      },
      "module": "keras",
      "registered_name": null
     },
     "kernel_constraint": null,
     "kernel_initializer": {
      "class_name": "GlorotUniform",
      "config": {
       "input_axes": null,
       "output_axes": null,
       "seed": null
      },
      "module": "keras.initializers",
      "registered_name": null
     },
     "kernel_regularizer": null,
     "name": "shared",
     "quantization_config": null,
     "trainable": true,
     "units": 3,
     "use_bias": true
    },
    "inbound_nodes": [
     {
      "args": [
       {
        "class_name": "__keras_tensor__",
        "config": {
         "dtype": "float32",
         "keras_history": [
          "a",
          0,
          0
         ],
         "shape": [
          null,
          4
         ]
        }
       }
      ],
      "kwargs": {}
     },
     {
      "args": [
       {
        "class_name": "__keras_tensor__",
        "config": {
         "dtype": "float32",
         "keras_history": [
          "b",
          0,
          0
         ],
         "shape": [
          null,
          4
         ]
        }
       }
      ],
      "kwargs": {}
     }
    ],
    "module": "keras.layers",
    "name": "shared",
    "registered_name": null
   },
   {
    "build_config": {
     "input_shape": [
      [
       null,
       3
      ],
      [
       null,
       3
      ]
     ]
    },
    "class_name": "Concatenate",
    "config": {
     "axis": -1,
     "dtype": {
      "class_name": "DTypePolicy",
      "config": {
       "name": "float32"
      },
      "module": "keras",
      "registered_name": null
     },
     "name": "concatenate",
     "trainable": true
    },
    "inbound_nodes": [
     {
      "args": [
       [
        {
         "class_name": "__keras_tensor__",
         "config": {
          "dtype": "float32",
          "keras_history": [
           "shared",
           0,
           0
          ],
          "shape": [
           null,
           3
          ]
         }
        },
        {
         "class_name": "__keras_tensor__",
         "config": {
          "dtype": "float32",
          "keras_history": [
           "shared",
           1,
           0
          ],
          "shape": [
           null,
           3
          ]
         }
        }
       ]
      ],
      "kwargs": {}
     }
    ],
    "module": "keras.layers",
    "name": "concatenate",
    "registered_name": null
   },
   {
    "build_config": {
     "input_shape": [
      [
       null,
       3
      ],
      [
       null,
       3
      ]
     ]
    },
    "class_name": "Add",
    "config": {
     "dtype": {
      "class_name": "DTypePolicy",
      "config": {
       "name": "float32"
      },
      "module": "keras",
      "registered_name": null
     },
     "name": "add",
     "trainable": true
    },
    "inbound_nodes": [
     {
      "args": [
       [
        {
         "class_name": "__keras_tensor__",
         "config": {
          "dtype": "float32",
          "keras_history": [
           "shared",
           0,
           0
          ],
          "shape": [
           null,
           3
          ]
         }
        },
        {
         "class_name": "__keras_tensor__",
         "config": {
          "dtype": "float32",
          "keras_history": [
           "shared",
           1,
           0
          ],
          "shape": [
           null,
           3
          ]
         }
        }
       ]
      ],
      "kwargs": {}
     }
    ],
    "module": "keras.layers",
    "name": "add",
    "registered_name": null
   },
   {
    "build_config": {
     "input_shape": [
      [
       null,
       3
      ],
      [
       null,
       3
      ]
     ]
    },
    "class_name": "Dot",
    "config": {
     "axes": 1,
     "dtype": {
      "class_name": "DTypePolicy",
      "config": {
       "name": "float32"
      },
      "module": "keras",
      "registered_name": null
     },
     "name": "dot",
     "normalize": true,
     "trainable": true
    },
    "inbound_nodes": [
     {
      "args": [
       [
        {
         "class_name": "__keras_tensor__",
         "config": {
          "dtype": "float32",
          "keras_history": [
           "shared",
           0,
           0
          ],
          "shape": [
           null,
           3
          ]
         }
        },
        {
         "class_name": "__keras_tensor__",
         "config": {
          "dtype": "float32",
          "keras_history": [
           "shared",
           1,
           0
          ],
          "shape": [
           null,
           3
          ]
         }
        }
       ]
      ],
      "kwargs": {}
     }
    ],
    "module": "keras.layers",
    "name": "dot",
    "registered_name": null
   },
   {
    "build_config": {
     "input_shape": [
      null,
      6
     ]
    },
    "class_name": "Dense",
    "config": {
     "activation": "linear",
     "bias_constraint": null,
     "bias_initializer": {
      "class_name": "Zeros",
      "config": {},
      "module": "keras.initializers",
      "registered_name": null
     },
     "bias_regularizer": null,
     "dtype": {
      "class_name": "DTypePolicy",
      "config": {
       "name": "float32"
      },
      "module": "keras",
      "registered_name": null
     },
     "kernel_constraint": null,
     "kernel_initializer": {
      "class_name": "GlorotUniform",
      "config": {
       "input_axes": null,
       "output_axes": null,
       "seed": null
      },
      "module": "keras.initializers",
      "registered_name": null
     },
     "kernel_regularizer": null,
     "name": "frozen",
     "quantization_config": null,
     "trainable": false,
     "units": 2,
     "use_bias": true
    },
    "inbound_nodes": [
     {
      "args": [
       {
        "class_name": "__keras_tensor__",
        "config": {
         "dtype": "float32",
         "keras_history": [
          "concatenate",
          0,
          0
         ],
         "shape": [
          null,
          6
         ]
        }
       }
      ],
      "kwargs": {}
     }
    ],
    "module": "keras.layers",
    "name": "frozen",
    "registered_name": null
   },
   {
    "build_config": {
     "input_shape": [
      [
       null,
       3
      ],
      [
       null,
       1
      ]
     ]
    },
    "class_name": "Concatenate",
    "config": {
     "axis": -1,
     "dtype": {
      "class_name": "DTypePolicy",
      "config": {
       "name": "float32"
      },
      "module": "keras",
      "registered_name": null
     },
     "name": "concatenate_1",
     "trainable": true
    },
    "inbound_nodes": [
     {
      "args": [
       [
        {
         "class_name": "__keras_tensor__",
         "config": {
          "dtype": "float32",
          "keras_history": [
           "add",
           0,
           0
          ],
          "shape": [
           null,
           3
          ]
         }
        },
        {
         "class_name": "__keras_tensor__",
         "config": {
          "dtype": "float32",
          "keras_history": [
           "dot",
           0,
           0
          ],
          "shape": [
           null,
           1
          ]
         }
        }
       ]
      ],
      "kwargs": {}
     }
    ],
    "module": "keras.layers",
    "name": "concatenate_1",
    "registered_name": null
   },
   {
    "build_config": {
     "input_shape": [
      null,
      2
     ]
    },
    "class_name": "Dense",
    "config": {
     "activation": "softmax",
     "bias_constraint": null,
     "bias_initializer": {
      "class_name": "Zeros",
      "config": {},
      "module": "keras.initializers",
      "registered_name": null
     },
     "bias_regularizer": null,
     "dtype": {
      "class_name": "DTypePolicy",
      "config": {
       "name": "float32"
      },
      "module": "keras",
      "registered_name": null
     },
     "kernel_constraint": null,
     "kernel_initializer": {
      "class_name": "GlorotUniform",
      "config": {
       "input_axes": null,
       "output_axes": null,
       "seed": null
      },
      "module": "keras.initializers",
      "registered_name": null
     },
     "kernel_regularizer": null,
     "name": "class",
     "quantization_config": null,
     "trainable": true,
     "units": 2,
     "use_bias": true
    },
    "inbound_nodes": [
     {
      "args": [
       {
        "class_name": "__keras_tensor__",
        "config": {
         "dtype": "float32",
         "keras_history": [
          "frozen",
          0,
          0
         ],
         "shape": [
          null,
          2
         ]
        }
       }
      ],
      "kwargs": {}
     }
    ],
    "module": "keras.layers",
    "name": "class",
    "registered_name": null
   },
   {
    "build_config": {
     "input_shape": [
      null,
      4
     ]
    },
    "class_name": "Dense",
    "config": {
     "activation": "linear",
     "bias_constraint": null,
     "bias_initializer": {
      "class_name": "Zeros",
      "config": {},
      "module": "keras.initializers",
      "registered_name": null
     },
     "bias_regularizer": null,
     "dtype": {
      "class_name": "DTypePolicy",
      "config": {
       "name": "float32"
      },
      "module": "keras",
      "registered_name": null
     },
     "kernel_constraint": null,
     "kernel_initializer": {
      "class_name": "GlorotUniform",
      "config": {
       "input_axes": null,
       "output_axes": null,
       "seed": null
      },
      "module": "keras.initializers",
      "registered_name": null
     },
     "kernel_regularizer": null,
     "name": "size",
     "quantization_config": null,
     "trainable": true,
     "units": 1,
     "use_bias": true
    },
    "inbound_nodes": [
     {
      "args": [
       {
        "class_name": "__keras_tensor__",
        "config": {
         "dtype": "float32",
         "keras_history": [
          "concatenate_1",
          0,
          0
         ],
         "shape": [
          null,
          4
         ]
        }
       }
      ],
      "kwargs": {}
     }
    ],
    "module": "keras.layers",
    "name": "size",
    "registered_name": null
   }
  ],
  "name": "two_heads",
  "output_layers": [
   [
    "class",
    0,
    0
   ],
   [
    "size",
    0,
    0
   ]
  ],
  "trainable": true
 },
 "module": "keras.src.models.functional",
 "registered_name": "Functional"
}"#;

fn dense(
    model: &mut Model,
    inputs: &[Src],
    name: &str,
    units: usize,
    activation: Activation,
) -> Src {
    model.set_next_inputs(inputs.to_vec()).unwrap();
    model
        .add_dense(
            name,
            units,
            activation,
            true,
            &Initializer::GlorotUniform,
            None,
            &Initializer::Zeros,
            None,
        )
        .unwrap();
    Src::Node(model.nodes().len() - 1)
}

fn merge(model: &mut Model, inputs: &[Src], name: &str, kind: &str) -> Src {
    model.set_next_inputs(inputs.to_vec()).unwrap();
    model
        .add_merge_with(name, |shapes| {
            Ok(match kind {
                "add" => Box::new(Elementwise::new(name, ElementwiseOp::Add, shapes)?),
                "concatenate" => Box::new(Concatenate::new(name, -1, shapes)?),
                _ => Box::new(Dot::new(name, [1, 1], true, shapes)?),
            })
        })
        .unwrap();
    Src::Node(model.nodes().len() - 1)
}

/// Builds the model of `tools/golden/functional_config.py`, with its nodes
/// in the order `keras_model()` adds them (depth first from the outputs).
fn keras_twin() -> Model {
    let mut m = Model::new_graph(
        "two_heads",
        vec![vec![4], vec![4]],
        vec!["a".into(), "b".into()],
        1,
    )
    .unwrap();
    let sa = dense(
        &mut m,
        &[Src::Input(0)],
        "shared",
        3,
        Activation::from_name("relu").unwrap(),
    );
    m.call_layer("shared", vec![Src::Input(1)]).unwrap();
    let sb = Src::Node(m.nodes().len() - 1);
    let joined = merge(&mut m, &[sa, sb], "concatenate", "concatenate");
    let frozen = dense(&mut m, &[joined], "frozen", 2, Activation::Linear);
    m.set_trainable("frozen", false).unwrap();
    let class = dense(&mut m, &[frozen], "class", 2, Activation::Softmax);
    let added = merge(&mut m, &[sa, sb], "add", "add");
    let dot = merge(&mut m, &[sa, sb], "dot", "dot");
    let both = merge(&mut m, &[added, dot], "concatenate_1", "concatenate");
    let size = dense(&mut m, &[both], "size", 1, Activation::Linear);
    m.set_outputs(vec![class, size]).unwrap();
    m.compiled = Some(Compiled {
        loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
        metrics: vec![Metric::new(
            "accuracy",
            MetricKind::SparseCategoricalAccuracy,
        )],
        optimizer: Optimizer::new(
            OptimizerKind::Adam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                amsgrad: false,
            },
            0.01,
        ),
    });
    m.extra_heads = vec![Head {
        loss: Loss::MeanSquaredError,
        metrics: vec![Metric::new("mae", MetricKind::MeanAbsoluteError)],
    }];
    m.loss_weights = vec![1.0, 0.5];
    m
}

fn layer<'a>(config: &'a Value, name: &str) -> &'a Value {
    config["config"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no layer \"{name}\""))
}

/// Returns each inbound node as the `keras_history` entries of its tensors.
fn histories(layer: &Value) -> Vec<Vec<Value>> {
    fn collect(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
            Value::Object(_) => out.push(v["config"]["keras_history"].clone()),
            _ => {}
        }
    }
    layer["inbound_nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let mut out = Vec::new();
            collect(&node["args"], &mut out);
            out
        })
        .collect()
}

/// Returns the graph as (layer name, input tensors by layer name and call)
/// per node.
fn graph_of(m: &Model) -> Vec<(String, Vec<String>)> {
    let describe = |s: &Src| match *s {
        Src::Input(k) => m.input_names()[k].clone(),
        Src::Node(i) => {
            let l = m.nodes()[i].layer;
            let call = m.nodes()[..i].iter().filter(|n| n.layer == l).count();
            format!("{}[{call}]", m.layers()[l].name())
        }
    };
    m.nodes()
        .iter()
        .map(|n| {
            (
                m.layers()[n.layer].name().to_string(),
                n.inputs.iter().map(describe).collect(),
            )
        })
        .collect()
}

#[test]
fn functional_config_matches_keras() {
    let keras: Value = serde_json::from_str(KERAS_CONFIG).unwrap();
    let ours = model_config(&keras_twin(), true).unwrap();
    for key in ["class_name", "module", "registered_name"] {
        assert_eq!(ours[key], keras[key], "{key}");
    }
    for key in ["name", "input_layers", "output_layers", "trainable"] {
        assert_eq!(ours["config"][key], keras["config"][key], "config.{key}");
    }
    let keras_layers = keras["config"]["layers"].as_array().unwrap();
    assert_eq!(
        ours["config"]["layers"].as_array().unwrap().len(),
        keras_layers.len()
    );
    for expected in keras_layers {
        let name = expected["name"].as_str().unwrap();
        let got = layer(&ours, name);
        assert_eq!(
            got["class_name"], expected["class_name"],
            "{name}: class_name"
        );
        assert_eq!(histories(got), histories(expected), "{name}: inbound nodes");
        assert_eq!(
            got["inbound_nodes"], expected["inbound_nodes"],
            "{name}: inbound node layout"
        );
        for key in [
            "trainable",
            "units",
            "activation",
            "axis",
            "axes",
            "normalize",
            "batch_shape",
        ] {
            assert_eq!(
                got["config"][key], expected["config"][key],
                "{name}: config.{key}"
            );
        }
        if expected["class_name"] != "Dense" && expected["class_name"] != "InputLayer" {
            assert_eq!(
                got["build_config"], expected["build_config"],
                "{name}: build_config"
            );
        }
    }
    // Keras writes the strings given to compile(); kerust writes the loss
    // and metric objects, keyed by output name in the same way.
    let compile = &ours["compile_config"];
    assert_eq!(
        compile["loss_weights"],
        keras["compile_config"]["loss_weights"]
    );
    assert_eq!(
        compile["loss"]["class"]["class_name"],
        "SparseCategoricalCrossentropy"
    );
    assert_eq!(compile["loss"]["size"]["class_name"], "MeanSquaredError");
    assert_eq!(
        compile["metrics"]["class"][0]["class_name"],
        "SparseCategoricalAccuracy"
    );
    assert_eq!(
        compile["metrics"]["size"][0]["class_name"],
        "MeanAbsoluteError"
    );
    assert_eq!(compile["optimizer"]["class_name"], "Adam");
}

#[test]
fn keras_functional_config_reads_into_graph() {
    let keras: Value = serde_json::from_str(KERAS_CONFIG).unwrap();
    let read = model_from_config(&keras, true).unwrap();
    let twin = keras_twin();
    assert_eq!(graph_of(&read), graph_of(&twin));
    assert_eq!(read.output_names(), vec!["class", "size"]);
    assert_eq!(read.input_names(), ["a", "b"]);
    let frozen: Vec<bool> = (0..read.layers().len())
        .map(|l| !read.is_trainable(l))
        .collect();
    let names: Vec<&str> = read.layers().iter().map(|l| l.name()).collect();
    assert_eq!(names[frozen.iter().position(|&f| f).unwrap()], "frozen");
    assert_eq!(frozen.iter().filter(|&&f| f).count(), 1);
    assert_eq!(
        read.head_loss(0),
        Some(&Loss::SparseCategoricalCrossentropy { from_logits: false })
    );
    assert_eq!(read.head_loss(1), Some(&Loss::MeanSquaredError));
    assert_eq!(read.loss_weights, vec![1.0, 0.5]);
    assert_eq!(
        read.head_metrics(0)[0].kind,
        MetricKind::SparseCategoricalAccuracy
    );
    assert_eq!(read.head_metrics(1)[0].kind, MetricKind::MeanAbsoluteError);
}

#[test]
fn functional_config_round_trips() {
    let first = model_config(&keras_twin(), true).unwrap();
    let read = model_from_config(&first, true).unwrap();
    assert_eq!(graph_of(&read), graph_of(&keras_twin()));
    assert_eq!(model_config(&read, true).unwrap(), first);
}

/// Returns the error of reading the Keras config after `edit`.
fn read_error(edit: impl FnOnce(&mut Value)) -> String {
    let mut config: Value = serde_json::from_str(KERAS_CONFIG).unwrap();
    edit(&mut config);
    model_from_config(&config, true).unwrap_err().to_string()
}

fn layer_mut<'a>(config: &'a mut Value, name: &str) -> &'a mut Value {
    config["config"]["layers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|l| l["name"] == name)
        .unwrap()
}

#[test]
fn inbound_node_naming_missing_layer() {
    let err = read_error(|c| {
        layer_mut(c, "frozen")["inbound_nodes"][0]["args"][0]["config"]["keras_history"] =
            json!(["gone", 0, 0]);
    });
    assert_eq!(
        err,
        "inbound node 0 of layer \"frozen\" names layer \"gone\", which is not in the model"
    );
}

#[test]
fn graph_cycle_is_an_error() {
    let err = read_error(|c| {
        layer_mut(c, "concatenate")["inbound_nodes"][0]["args"][0][0]["config"]["keras_history"] =
            json!(["frozen", 0, 0]);
    });
    assert_eq!(
        err,
        "the layer graph has a cycle: \"class\" -> \"frozen\" -> \"concatenate\" leads back to \"frozen\""
    );
}

#[test]
fn unknown_output_layer_is_an_error() {
    let err = read_error(|c| c["config"]["output_layers"][1] = json!(["nowhere", 0, 0]));
    assert_eq!(
        err,
        "output_layers entry 1 names layer \"nowhere\", which is not in the model"
    );
}

#[test]
fn missing_call_of_shared_layer_is_an_error() {
    let err = read_error(|c| {
        layer_mut(c, "add")["inbound_nodes"][0]["args"][0][1]["config"]["keras_history"] =
            json!(["shared", 2, 0]);
    });
    assert_eq!(
        err,
        "inbound node 0 of layer \"add\" names call 2 of layer \"shared\", which has 2 inbound nodes"
    );
}

#[test]
fn layer_off_the_outputs_is_an_error() {
    let err = read_error(|c| c["config"]["output_layers"] = json!([["class", 0, 0]]));
    assert_eq!(err, "layer \"add\" (Add) does not lead to any output");
}
