// Changelog lines for `changeset version`: the default format (@changesets/changelog-git), except
// that the dependency bumps of a release are one line, not one "Updated dependencies" per
// changeset that touched a dependency, and that a dependency's first release (from 0.0.0, never
// published) is not listed: there was no earlier version to update from.
'use strict';

async function getReleaseLine(changeset) {
  const [first, ...rest] = changeset.summary.split('\n').map((line) => line.trimEnd());
  const commit = changeset.commit ? `${changeset.commit.slice(0, 7)}: ` : '';
  return [`- ${commit}${first}`, ...rest.map((line) => (line ? `  ${line}` : ''))].join('\n');
}

async function getDependencyReleaseLine(_changesets, dependenciesUpdated) {
  const updated = dependenciesUpdated.filter((d) => d.oldVersion !== '0.0.0');
  if (updated.length === 0) return '';
  const list = updated.map((d) => `${d.name}@${d.newVersion}`).join(', ');
  return `- Updated dependencies: ${list}`;
}

module.exports = { default: { getReleaseLine, getDependencyReleaseLine } };
