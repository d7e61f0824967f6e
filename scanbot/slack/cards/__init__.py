"""Pure renderers, one module per audience: data in, Block Kit messages and views out, on
the public kit (`slack.kit`, `slack.rich`, `slack.text`)."""
