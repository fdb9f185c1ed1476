import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ecoIndex, grade } from './ecoindex.mjs';

test('EcoIndex of reference values', () => {
  assert.equal(ecoIndex(0, 0, 0), 100);
  assert.equal(Math.round(ecoIndex(594601, 3920, 223212.26)), 0);
  // A light page: 100 elements, 2 requests, 10 KB.
  const light = ecoIndex(100, 2, 10);
  assert.ok(light > 80 && light < 95, `${light}`);
  assert.equal(grade(light), 'A');
  assert.equal(grade(75), 'B');
  assert.equal(grade(5), 'G');
});
