#!/usr/bin/env node
// The command line of openclaw-nats-eventstore (tail, replay, session, stats); see --help.
import "../dist/src/cli/bin.js";
