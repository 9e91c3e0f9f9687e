#include "p2p/pair_test.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/stats.hpp"
#include "common/timer.hpp"

namespace preflight::p2p {

std::string_view to_string(TestKind test) {
  switch (test) {
    case TestKind::latency:
      return "latency";
    case TestKind::bw:
      return "bw";
    case TestKind::bibw:
      return "bibw";
  }
  return "latency";
}

std::string_view to_string(DataOp op) {
  switch (op) {
    case DataOp::send:
      return "send";
    case DataOp::write:
      return "write";
    case DataOp::read:
      return "read";
  }
  return "send";
}

DataFlows data_flows(TestKind test, DataOp op) {
  switch (test) {
    case TestKind::latency:
      return op == DataOp::read ? DataFlows{false, true} : DataFlows{true, true};
    case TestKind::bw:
      return op == DataOp::read ? DataFlows{false, true} : DataFlows{true, false};
    case TestKind::bibw:
      return {true, true};
  }
  return {};
}

int messages_per_iteration(const PairTestSpec& spec) {
  return spec.test == TestKind::latency ? 1 : spec.window;
}

namespace {

void initiator_iteration(PairChannel& channel, const PairTestSpec& spec) {
  switch (spec.test) {
    case TestKind::latency:
      channel.ping(spec.bytes);
      return;
    case TestKind::bw:
      channel.send_window(spec.bytes, spec.window);
      return;
    case TestKind::bibw:
      channel.exchange_window(spec.bytes, spec.window);
      return;
  }
}

void responder_iteration(PairChannel& channel, const PairTestSpec& spec) {
  switch (spec.test) {
    case TestKind::latency:
      channel.pong(spec.bytes);
      return;
    case TestKind::bw:
      channel.recv_window(spec.bytes, spec.window);
      return;
    case TestKind::bibw:
      channel.exchange_window(spec.bytes, spec.window);
      return;
  }
}

ControlMessage expect_control(PairChannel& channel, ControlMessage::Kind kind) {
  const ControlMessage message = channel.recv_control();
  if (message.kind != kind) {
    throw Error("preflight", "pair protocol",
                fmt::format("expected control {}", static_cast<int>(kind)),
                fmt::format("received control {} instead: the two sides disagree on the test "
                            "(same options on both?)",
                            static_cast<int>(message.kind)),
                0);
  }
  return message;
}

// How many iterations the next timed batch runs. Batches grow with the sample count (the sampler
// re-checks its precision about every 10%), never past the iteration cap, and not much past the
// time budget once the time of an iteration is known.
std::size_t next_batch(const SamplingPolicy& policy, const AdaptiveSampler& sampler,
                       double seconds_per_iteration) {
  const std::size_t done = sampler.samples().size();
  if (policy.fixed) {
    return policy.min_iterations > done ? policy.min_iterations - done : 1;
  }
  std::size_t batch = done == 0 ? policy.min_iterations : std::max<std::size_t>(1, done / 4);
  if (seconds_per_iteration > 0) {
    const double left_s = std::max(0.0, policy.time_budget_s - sampler.measured_time_s());
    const auto affordable = static_cast<std::size_t>(left_s / seconds_per_iteration) + 1;
    batch = std::min(batch, std::max<std::size_t>(affordable, 1));
  }
  const std::size_t cap = policy.max_iterations > done ? policy.max_iterations - done : 1;
  return std::clamp<std::size_t>(batch, 1, cap);
}

}  // namespace

PairSizeOutcome run_initiator(PairChannel& channel, const PairTestSpec& spec) {
  PairSizeOutcome outcome;
  const DataFlows flows = data_flows(spec.test, channel.op());
  const auto messages = static_cast<std::uint64_t>(messages_per_iteration(spec));

  // Verification, outside any timed region.
  for (int check = 0; check < spec.check_iterations; ++check) {
    const auto index = static_cast<std::uint64_t>(check);
    if (flows.initiator_to_responder) {
      channel.send_buffer().fill_payload(spec.bytes, payload_seed(spec.bytes, index, 0));
    }
    if (flows.responder_to_initiator) {
      channel.recv_buffer().fill_poison(spec.bytes, payload_seed(spec.bytes, index, 1));
    }
    channel.send_control({.kind = ControlMessage::Kind::verify, .count = index});
    (void)expect_control(channel, ControlMessage::Kind::ready);
    initiator_iteration(channel, spec);
    if (flows.responder_to_initiator) {
      outcome.wrong_bytes +=
          channel.recv_buffer().count_mismatches(spec.bytes, payload_seed(spec.bytes, index, 1));
      outcome.verified_messages += messages;
    }
    // The responder may still be reading this side's buffers (bibw over RMA read): nothing is
    // refilled before it says it is done.
    const ControlMessage verified = expect_control(channel, ControlMessage::Kind::verified);
    outcome.wrong_bytes += verified.wrong_bytes;
    outcome.verified_messages += verified.verified_messages;
  }

  // Warm-up: run, discarded, counted. Unless the count is fixed, the warm-up gets at most half
  // the time budget (one window of 16 MiB messages can take a second on a slow link).
  if (spec.sampling.warmup_iterations > 0) {
    channel.send_control({.kind = ControlMessage::Kind::run, .count = 1});
    const auto start = MonotonicClock::now();
    initiator_iteration(channel, spec);
    const double first_s = seconds_between(start, MonotonicClock::now());
    std::size_t remaining = spec.sampling.warmup_iterations - 1;
    if (!spec.sampling.fixed && first_s > 0) {
      remaining =
          std::min(remaining, static_cast<std::size_t>(spec.sampling.time_budget_s / 2 / first_s));
    }
    if (remaining > 0) {
      channel.send_control({.kind = ControlMessage::Kind::run, .count = remaining});
      for (std::size_t i = 0; i < remaining; ++i) {
        initiator_iteration(channel, spec);
      }
    }
    outcome.warmup_iterations = 1 + remaining;
  }

  // Timed batches: one reading of the sample clock per iteration into storage sized before the
  // batch (so already faulted in), nothing else between iterations; the sampler sees the batch
  // after it ends.
  const SampleClock& clock = process_sample_clock();
  AdaptiveSampler sampler(spec.sampling);
  std::vector<SampleClock::Ticks> stamps;
  std::vector<double> batch_samples_s;
  double seconds_per_iteration = 0;
  while (!sampler.done()) {
    const std::size_t batch = next_batch(spec.sampling, sampler, seconds_per_iteration);
    stamps.resize(batch + 1);
    batch_samples_s.resize(batch);
    channel.send_control({.kind = ControlMessage::Kind::run, .count = batch});
    stamps[0] = clock.now();
    for (std::size_t i = 0; i < batch; ++i) {
      initiator_iteration(channel, spec);
      stamps[i + 1] = clock.now();
    }
    outcome.timed_iterations += batch;
    if (spec.on_iterations) {
      spec.on_iterations(static_cast<std::int64_t>(outcome.timed_iterations));
    }
    for (std::size_t i = 0; i < batch; ++i) {
      batch_samples_s[i] = clock.seconds(stamps[i], stamps[i + 1]);
    }
    (void)sampler.add(std::span<const double>(batch_samples_s));
    seconds_per_iteration =
        clock.seconds(stamps.front(), stamps.back()) / static_cast<double>(batch);
  }
  outcome.samples_s.assign(sampler.samples().begin(), sampler.samples().end());
  outcome.stop_reason = sampler.stop_reason();

  // The batched mean (OSU's and fi_pingpong's figure): iterations back to back between two
  // readings of the clock, none in between.
  outcome.batch_mean_iterations =
      batched_mean_iterations(spec.sampling, outcome.samples_s.size(), median(outcome.samples_s));
  channel.send_control({.kind = ControlMessage::Kind::run, .count = outcome.batch_mean_iterations});
  const SampleClock::Ticks batch_start = clock.now();
  for (std::size_t i = 0; i < outcome.batch_mean_iterations; ++i) {
    initiator_iteration(channel, spec);
  }
  outcome.batch_mean_s =
      clock.seconds(batch_start, clock.now()) / static_cast<double>(outcome.batch_mean_iterations);

  channel.send_control({.kind = ControlMessage::Kind::stop});
  const ControlMessage result = expect_control(channel, ControlMessage::Kind::result);
  outcome.size_errors += result.size_errors + channel.take_size_errors();
  return outcome;
}

void run_responder(PairChannel& channel, const PairTestSpec& spec) {
  const DataFlows flows = data_flows(spec.test, channel.op());
  const auto messages = static_cast<std::uint64_t>(messages_per_iteration(spec));
  while (true) {
    const ControlMessage message = channel.recv_control();
    switch (message.kind) {
      case ControlMessage::Kind::verify: {
        const std::uint64_t index = message.count;
        if (flows.initiator_to_responder) {
          channel.recv_buffer().fill_poison(spec.bytes, payload_seed(spec.bytes, index, 0));
        }
        if (flows.responder_to_initiator) {
          channel.send_buffer().fill_payload(spec.bytes, payload_seed(spec.bytes, index, 1));
        }
        channel.send_control({.kind = ControlMessage::Kind::ready});
        responder_iteration(channel, spec);
        ControlMessage verified{.kind = ControlMessage::Kind::verified};
        if (flows.initiator_to_responder) {
          verified.wrong_bytes = channel.recv_buffer().count_mismatches(
              spec.bytes, payload_seed(spec.bytes, index, 0));
          verified.verified_messages = messages;
        }
        channel.send_control(verified);
        break;
      }
      case ControlMessage::Kind::run:
        for (std::uint64_t i = 0; i < message.count; ++i) {
          responder_iteration(channel, spec);
        }
        break;
      case ControlMessage::Kind::stop:
        channel.send_control(
            {.kind = ControlMessage::Kind::result, .size_errors = channel.take_size_errors()});
        return;
      default:
        throw Error(
            "preflight", "pair protocol", "responder",
            fmt::format("unexpected control {} from the initiator", static_cast<int>(message.kind)),
            0);
    }
  }
}

}  // namespace preflight::p2p
