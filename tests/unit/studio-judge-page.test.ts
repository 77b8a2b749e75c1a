import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { StudioDatabase, newId } from '../../src/lib/data/db';
import { seedCuratedContent } from '../../src/lib/studio/curated';
import {
	anchorsText,
	defaultRubric,
	listLatestRubrics,
	parseAnchors,
	rubricDraft,
	saveRubricDraft
} from '../../src/lib/studio/rubrics';
import {
	defaultJudgeSettings,
	judgeSettingsProblems,
	loadJudgeSettings,
	saveJudgeSettings
} from '../../src/lib/studio/judge-settings';
import { dialogueTitle } from '../../src/lib/studio/labels';

describe('rubric drafts', () => {
	it('round-trips anchors through their text form, full-width colons too', () => {
		expect(parseAnchors('0: none\n4： all\nnot an anchor\n2:   ')).toEqual({ 0: 'none', 4: 'all' });
		expect(anchorsText({ anchors: { 4: 'all', 0: 'none' } })).toBe('0: none\n4: all');
	});

	it('saves an edit as a new version and a copy as a new rubric; problems keep it unsaved', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await seedCuratedContent(db);
		const [rubric] = await listLatestRubrics(db);
		const edit = rubricDraft(rubric, 'edit');
		edit.name = 'Edited';
		const edited = await saveRubricDraft(db, rubric, edit);
		expect(edited).toMatchObject({ saved: { key: rubric.key, version: 2, name: 'Edited' } });
		const copy = rubricDraft(rubric, 'copy');
		expect(copy.key).toBe(`${rubric.key}-copy`);
		expect(await saveRubricDraft(db, rubric, copy)).toMatchObject({
			saved: { key: `${rubric.key}-copy`, version: 1 }
		});
		const bad = { ...rubricDraft(rubric, 'edit'), name: ' ', template: 'no dialogue' };
		const result = await saveRubricDraft(db, rubric, bad);
		expect(result).toEqual({ problems: ['name: empty', 'template: missing {{dialogue}}'] });
		db.close();
	});

	it('opens on a built-in rubric in the interface language', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await seedCuratedContent(db);
		const latest = await listLatestRubrics(db);
		expect(defaultRubric(latest, 'ja')?.language).toBe('ja');
		expect(defaultRubric(latest, 'en')?.language).toBe('en');
		expect(defaultRubric([], 'en')).toBeUndefined();
		db.close();
	});
});

describe('judge settings', () => {
	it('are checked before judging starts', () => {
		const local = defaultJudgeSettings();
		expect(judgeSettingsProblems(local, true)).toEqual([]);
		expect(judgeSettingsProblems({ ...local, maxNewTokens: 0 }, false)).toEqual([
			'model',
			'maxNewTokens'
		]);
		const remote = { ...local, kind: 'remote' as const };
		expect(judgeSettingsProblems(remote, false)).toEqual([]);
		expect(
			judgeSettingsProblems({ ...remote, endpoint: 'api.example', model: ' ' }, false)
		).toEqual(['endpoint', 'remoteModel']);
	});

	it('are remembered in this browser', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await saveJudgeSettings(db, { ...defaultJudgeSettings(), kind: 'remote', apiKey: 'k' });
		expect(await loadJudgeSettings(db)).toMatchObject({ kind: 'remote', apiKey: 'k' });
		db.close();
	});
});

describe('dialogue titles', () => {
	it('name a dialogue by character, persona and opening, never by id', () => {
		const d = {
			characterId: 'c',
			personaId: 'p',
			turns: [
				{
					role: 'model' as const,
					content: 'What is   justice, and who decides what is fair to everyone?'
				}
			]
		};
		expect(dialogueTitle(d, [{ id: 'c', name: 'Sage' }], [{ id: 'p', name: 'Ann' }])).toBe(
			'Sage × Ann · “What is justice, and who decides what i…”'
		);
		expect(dialogueTitle({ ...d, personaId: undefined, turns: [] }, [], [])).toBe('?');
	});
});
