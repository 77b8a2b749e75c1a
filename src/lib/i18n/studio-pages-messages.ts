/**
 * Strings added with the studio pages' second round (shared sampling fields, failures worded for
 * each page, counts with plurals, rename/delete). Spread into messages.ts like studio-messages.ts.
 * Counted messages have `.one` and `.other` keys in both languages (see i18n/format.ts).
 */
export const studioPagesEn = {
	'sampling.temperature': 'Temperature',
	'sampling.topK': 'Top-k',
	'sampling.topP': 'Top-p',
	'sampling.repetitionPenalty': 'Repetition penalty',
	'sampling.maxNewTokens': 'Max new tokens',
	'sampling.range': 'From {min} to {max}.',
	'sampling.rangeInteger': 'A whole number from {min} to {max}.',

	'generate.etaAfterFirst': 'known after the first dialogue',
	'generate.badSeed': 'A whole number, 0 or more.',
	'generate.pickBoth': 'Pick at least one persona and one opening question.',
	'generate.forgetConfirm': 'Forget this job? Its dialogues stay.',
	'generate.failure.context':
		'Dialogue {index} of {total} does not fit the model’s context ({limit} tokens) even before its first exchange. Shorten the character’s prompt, the persona’s description or the opening question, or lower “Max new tokens”; then press Resume. The dialogues already written are kept ({done}).',
	'generate.failure.stopped':
		'Generation stopped at dialogue {index} of {total}: {message} The dialogues already written are kept ({done}); press Resume to continue from dialogue {index}.',
	'generate.failure.notStarted': 'The job did not start: {message}',
	'generate.stoppedEarly':
		'Stopped after {exchanges} of {planned} exchanges: the dialogue reached the model’s context ({limit} tokens). The exchanges written are kept.',
	'judge.badEndpoint': 'Give the server’s address, starting with https:// (or http://).',
	'judge.needsRemoteModel': 'Name the model the server should use.',
	'judge.willJudgeCount.one': '{count} dialogue will be judged.',
	'judge.willJudgeCount.other': '{count} dialogues will be judged.',
	'judge.judgedCount.one': '{count} judged',
	'judge.judgedCount.other': '{count} judged',
	'judge.failedCount.one': '{count} failed',
	'judge.failedCount.other': '{count} failed',
	'judge.ofTotal': '{done} of {total} dialogues done',
	'judge.etaAfterFirst': 'known after the first dialogue',
	'judge.allFailed': 'No dialogue could be judged. The reasons are listed below.',
	'judge.failure.context':
		'too long for the model’s context ({limit} tokens) with this rubric’s prompt. Lower “Max tokens for the comment”, shorten the rubric, or use a model with a longer context.',
	'judge.retryFailed':
		'Dialogues that failed stay unjudged: with “Not yet judged with this rubric” chosen, Judge tries them again.',
	'datasets.progress.building': 'Building the dataset…',
	'datasets.progress.counting': 'Counting tokens with the model’s tokenizer…',
	'datasets.progress.importing': 'Importing…',
	'datasets.badWindow': 'An even number, 2 or more.',
	'datasets.badEval': 'Eval share: 0 to 90 %; eval cap: a whole number, 0 or more.',
	'datasets.importInvalidCount.one': '{count} row is invalid. Nothing has been imported yet.',
	'datasets.importInvalidCount.other': '{count} rows are invalid. Nothing has been imported yet.',
	'datasets.exportEval': '{format} (eval)',
	'datasets.rename': 'Rename',
	'datasets.confirmDelete':
		'Delete “{name}”? The dialogues it was built from stay; training runs that used it ({runs}) keep their results.',
	'datasets.evalShare': 'eval {percent}% (at most {cap})',
	'characters.chat': 'Chat with this character',
	'characters.confirmDeleteCount':
		'Delete “{name}”? Its dialogues ({dialogues}) and the datasets built from them stay.',
	'characters.confirmDeletePersona': 'Delete “{name}”? Dialogues with this persona stay.',
	'characters.importedCharacters.one': 'Imported {count} character',
	'characters.importedCharacters.other': 'Imported {count} characters',
	'characters.importedPersonas.one': 'and {count} persona.',
	'characters.importedPersonas.other': 'and {count} personas.',
	'review.deleteDialogue': 'Delete this dialogue',
	'review.confirmDeleteDialogue':
		'Delete it and its judgments? Datasets built from it keep their examples.',
	'review.bulkPreviewCount.one':
		'{count} dialogue scored ≤ {threshold} with “{rubric}” would be rejected.',
	'review.bulkPreviewCount.other':
		'{count} dialogues scored ≤ {threshold} with “{rubric}” would be rejected.',
	'review.bulkApplyCount.one': 'Reject {count} dialogue',
	'review.bulkApplyCount.other': 'Reject {count} dialogues',
	'review.bulkDoneCount.one': 'Rejected {count} dialogue.',
	'review.bulkDoneCount.other': 'Rejected {count} dialogues.',
	'generate.planPersonas.one': '{count} persona',
	'generate.planPersonas.other': '{count} personas',
	'generate.planQuestions.one': '{count} question',
	'generate.planQuestions.other': '{count} questions',
	'generate.planTemperatures.one': '{count} temperature',
	'generate.planTemperatures.other': '{count} temperatures',
	'generate.planDialogues.one': '{count} dialogue',
	'generate.planDialogues.other': '{count} dialogues',
	'generate.progressCount.one': '{done} / {count} dialogue',
	'generate.progressCount.other': '{done} / {count} dialogues',
	'datasets.leftOutCount.one': '{count} dialogue was left out',
	'datasets.leftOutCount.other': '{count} dialogues were left out',
	'datasets.importedCount.one': 'Imported {count} example as “{name}” ({skipped} skipped).',
	'datasets.importedCount.other': 'Imported {count} examples as “{name}” ({skipped} skipped).'
};

export const studioPagesJa: Record<keyof typeof studioPagesEn, string> = {
	'sampling.temperature': '温度',
	'sampling.topK': 'Top-k',
	'sampling.topP': 'Top-p',
	'sampling.repetitionPenalty': '繰り返しペナルティ',
	'sampling.maxNewTokens': '最大生成トークン数',
	'sampling.range': '{min} から {max} まで。',
	'sampling.rangeInteger': '{min} から {max} までの整数。',

	'generate.etaAfterFirst': '最初の対話のあとに表示',
	'generate.badSeed': '0 以上の整数。',
	'generate.pickBoth': 'ペルソナと最初の問いを 1 つ以上選んでください。',
	'generate.forgetConfirm': 'このジョブの記録を消しますか？ 対話は残ります。',
	'generate.failure.context':
		'対話 {index}/{total} は、最初の往復の前からモデルのコンテキスト（{limit} トークン）に収まりません。キャラクターのプロンプト、ペルソナの説明、最初の問いを短くするか、「最大生成トークン数」を下げてから「再開」を押してください。書き終えた対話（{done} 件）は残っています。',
	'generate.failure.stopped':
		'対話 {index}/{total} で生成が止まりました：{message} 書き終えた対話（{done} 件）は残っています。「再開」で対話 {index} から続けられます。',
	'generate.failure.notStarted': 'ジョブを開始できませんでした：{message}',
	'generate.stoppedEarly':
		'{planned} 往復のうち {exchanges} 往復で止めました：対話がモデルのコンテキスト（{limit} トークン）に達したためです。書けた往復は残してあります。',
	'judge.badEndpoint': 'https://（または http://）で始まるサーバーのアドレスを入力してください。',
	'judge.needsRemoteModel': 'サーバーで使うモデル名を入力してください。',
	'judge.willJudgeCount.one': '{count} 件の対話を採点します。',
	'judge.willJudgeCount.other': '{count} 件の対話を採点します。',
	'judge.judgedCount.one': '採点済み {count} 件',
	'judge.judgedCount.other': '採点済み {count} 件',
	'judge.failedCount.one': '失敗 {count} 件',
	'judge.failedCount.other': '失敗 {count} 件',
	'judge.ofTotal': '{total} 件中 {done} 件を処理',
	'judge.etaAfterFirst': '最初の対話のあとに表示',
	'judge.allFailed': 'どの対話も採点できませんでした。理由は下の一覧のとおりです。',
	'judge.failure.context':
		'この評価基準のプロンプトではモデルのコンテキスト（{limit} トークン）に収まりません。「コメントの最大トークン数」を下げるか、評価基準を短くするか、コンテキストの長いモデルを使ってください。',
	'judge.retryFailed':
		'失敗した対話は未評価のままです。「この評価基準でまだ採点していないもの」を選んで「採点する」を押すと、もう一度試します。',
	'datasets.progress.building': 'データセットを作成しています…',
	'datasets.progress.counting': 'モデルのトークナイザーでトークン数を数えています…',
	'datasets.progress.importing': '読み込んでいます…',
	'datasets.badWindow': '2 以上の偶数。',
	'datasets.badEval': '評価用の割合は 0〜90 %、上限は 0 以上の整数にしてください。',
	'datasets.importInvalidCount.one': '{count} 行が不正です。まだ何も読み込んでいません。',
	'datasets.importInvalidCount.other': '{count} 行が不正です。まだ何も読み込んでいません。',
	'datasets.exportEval': '{format}（評価用）',
	'datasets.rename': '名前を変更',
	'datasets.confirmDelete':
		'「{name}」を削除しますか？ 元になった対話は残り、これを使った学習（{runs} 件）の結果も残ります。',
	'datasets.evalShare': '評価用 {percent}%（最大 {cap}）',
	'characters.chat': 'このキャラクターとチャット',
	'characters.confirmDeleteCount':
		'「{name}」を削除しますか？ 対話（{dialogues} 件）とそこから作ったデータセットは残ります。',
	'characters.confirmDeletePersona': '「{name}」を削除しますか？ このペルソナの対話は残ります。',
	'characters.importedCharacters.one': 'キャラクター {count} 件と',
	'characters.importedCharacters.other': 'キャラクター {count} 件と',
	'characters.importedPersonas.one': 'ペルソナ {count} 件を読み込みました。',
	'characters.importedPersonas.other': 'ペルソナ {count} 件を読み込みました。',
	'review.deleteDialogue': 'この対話を削除',
	'review.confirmDeleteDialogue':
		'対話とその採点結果を削除しますか？ この対話から作ったデータセットの例は残ります。',
	'review.bulkPreviewCount.one':
		'「{rubric}」で {threshold} 以下の対話 {count} 件を不採用にします。',
	'review.bulkPreviewCount.other':
		'「{rubric}」で {threshold} 以下の対話 {count} 件を不採用にします。',
	'review.bulkApplyCount.one': '{count} 件を不採用にする',
	'review.bulkApplyCount.other': '{count} 件を不採用にする',
	'review.bulkDoneCount.one': '{count} 件を不採用にしました。',
	'review.bulkDoneCount.other': '{count} 件を不採用にしました。',
	'generate.planPersonas.one': 'ペルソナ {count}',
	'generate.planPersonas.other': 'ペルソナ {count}',
	'generate.planQuestions.one': '問い {count}',
	'generate.planQuestions.other': '問い {count}',
	'generate.planTemperatures.one': '温度 {count}',
	'generate.planTemperatures.other': '温度 {count}',
	'generate.planDialogues.one': '対話 {count} 件',
	'generate.planDialogues.other': '対話 {count} 件',
	'generate.progressCount.one': '{done} / {count} 件の対話',
	'generate.progressCount.other': '{done} / {count} 件の対話',
	'datasets.leftOutCount.one': '{count} 件の対話を除外しました',
	'datasets.leftOutCount.other': '{count} 件の対話を除外しました',
	'datasets.importedCount.one':
		'{count} 件の例を「{name}」として読み込みました（{skipped} 行をスキップ）。',
	'datasets.importedCount.other':
		'{count} 件の例を「{name}」として読み込みました（{skipped} 行をスキップ）。'
};
