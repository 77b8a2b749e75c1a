/**
 * Names the UI shows for keys stored in data: a rubric criterion's key (the built-in rubrics' `tone`,
 * `flow`, `personality`) and a chat message's role (`user`, `model`). The stored keys never change
 * (judgments and datasets keep them); only what is shown is worded in the UI language. A criterion
 * key a user made up has no entry and is shown as written.
 */
import { t } from './index.svelte';
import { en, type MessageKey } from './messages';

function named(prefix: string, key: string): string {
	const k = `${prefix}.${key}`;
	return k in en ? t(k as MessageKey) : key;
}

/** A criterion's name in the UI language (its key when it is one a user made up). */
export const criterionName = (key: string) => named('criterion', key);

/** A message role (user, model) in the UI language. */
export const roleName = (role: string) => named('role', role);
