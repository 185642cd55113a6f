// Changelog lines for `changeset version`: the default format (@changesets/changelog-git), except
// that the dependency bumps of a release are one line, not one "Updated dependencies" per
// changeset that touched a dependency.
'use strict';

async function getReleaseLine(changeset) {
  const [first, ...rest] = changeset.summary.split('\n').map((line) => line.trimEnd());
  const commit = changeset.commit ? `${changeset.commit.slice(0, 7)}: ` : '';
  return [`- ${commit}${first}`, ...rest.map((line) => (line ? `  ${line}` : ''))].join('\n');
}

async function getDependencyReleaseLine(_changesets, dependenciesUpdated) {
  if (dependenciesUpdated.length === 0) return '';
  const list = dependenciesUpdated.map((d) => `${d.name}@${d.newVersion}`).join(', ');
  return `- Updated dependencies: ${list}`;
}

module.exports = { default: { getReleaseLine, getDependencyReleaseLine } };
