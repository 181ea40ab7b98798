// Validates Adaptive Cards with Microsoft's own implementation (the `adaptivecards` package),
// for the schema version each card declares. One card per stdin line (JSON); one answer per
// stdout line: {"problems": ["...", ...]} (empty: valid). Used by tests_support/fake_teams.py.
"use strict";
const AC = require("adaptivecards/dist/adaptivecards.min.js");
const readline = require("readline");

function problemsOf(card) {
  const problems = [];
  if (!card || card.type !== "AdaptiveCard") return ['"type" must be "AdaptiveCard"'];
  const version = AC.Version.parse(card.version, new AC.SerializationContext());
  if (!version || !version.isValid) return [`invalid "version": ${JSON.stringify(card.version)}`];
  const context = new AC.SerializationContext(version);
  const parsed = new AC.AdaptiveCard();
  parsed.parse(card, context);
  for (let i = 0; i < context.eventCount; i++) {
    const event = context.getEventAt(i);
    problems.push(`${AC.ValidationEvent[event.event]}: ${event.message}`);
  }
  for (const event of parsed.validateProperties().validationEvents) {
    problems.push(`${AC.ValidationEvent[event.event]}: ${event.message}`);
  }
  return problems;
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  let answer;
  try {
    answer = { problems: problemsOf(JSON.parse(line)) };
  } catch (error) {
    answer = { problems: [`not a card: ${error.message}`] };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
