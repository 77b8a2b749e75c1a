/** Training by the judge (issue 14): best-metric validation, scores, overfitting notice. */
export const judgeMetricEn = {
	'rule.bestMetric': 'No evaluation of this run produces {metric} (produced: {available}).',
	'rule.loadBest': 'Every evaluation needs a checkpoint: {problem}.',
	'judgeScores.title': 'Judge scores',
	'judgeScores.score': 'score',
	'judgeScores.overfitting':
		'{metric} has fallen for {falls} evaluations while the training loss kept falling: the best step was {step}.',
	'judgeScores.keepBest': 'Keep step {step}’s adapter',
	'judgeScores.stopHere': 'Stop the run here',
	'judgeScores.kept': 'Kept among the adapters.',
	'judgeScores.repliesAt': 'Replies and judgments at',
	'judgeScores.adapter': 'Adapter',
	'judgeScores.user': 'User',
	'judgeScores.failed': 'Judging failed (counted as failed, not as 0): {error}',
	'judgeEval.title': 'Judge scores during training',
	'judgeEval.enable':
		'At every evaluation, reply to held-out prompts and judge the replies (base model, adapter off)',
	'judgeEval.rubric': 'Rubric',
	'judgeEval.character': 'Character judged',
	'judgeEval.prompts': 'Held-out prompts',
	'judgeEval.tokens': 'Tokens per reply',
	'judgeEval.seed': 'Seed (prompts and sampling)',
	'judgeEval.cost':
		'Evaluation adds at most {generated} generated tokens and {judged} judge tokens to the run.',
	'adapterScores.title': 'Compare by score',
	'adapterScores.help':
		'The same held-out prompts, seed and sampling for every variant; the base model (no adapter) judges every reply with the rubric.',
	'adapterScores.variants': 'Variants',
	'adapterScores.dataset': 'Prompts from the eval split of',
	'adapterScores.run': 'Score',
	'adapterScores.variant': 'Variant',
	'adapterScores.combined': 'combined',
	'adapterScores.failed': 'failed',
	'adapterScores.winner': 'winner'
};

export const judgeMetricJa: Record<keyof typeof judgeMetricEn, string> = {
	'rule.bestMetric': 'この実行の評価は {metric} を出しません（出るもの: {available}）。',
	'rule.loadBest': '評価ごとにチェックポイントが必要です: {problem}。',
	'judgeScores.title': 'ジャッジのスコア',
	'judgeScores.score': 'スコア',
	'judgeScores.overfitting':
		'学習損失は下がり続けていますが、{metric} は {falls} 回の評価で続けて下がりました。最良のステップは {step} です。',
	'judgeScores.keepBest': 'ステップ {step} のアダプターを保存',
	'judgeScores.stopHere': 'ここで実行を止める',
	'judgeScores.kept': 'アダプターに保存しました。',
	'judgeScores.repliesAt': '返答と判定のステップ',
	'judgeScores.adapter': 'アダプター',
	'judgeScores.user': 'ユーザー',
	'judgeScores.failed': '判定に失敗しました（0 点ではなく失敗として数えます）: {error}',
	'judgeEval.title': '学習中のジャッジスコア',
	'judgeEval.enable':
		'評価のたびに評価用プロンプトへ返答させ、その返答を判定する（ベースモデル、アダプターなし）',
	'judgeEval.rubric': 'ルーブリック',
	'judgeEval.character': '判定するキャラクター',
	'judgeEval.prompts': '評価用プロンプト数',
	'judgeEval.tokens': '返答あたりのトークン数',
	'judgeEval.seed': 'シード（プロンプトとサンプリング）',
	'judgeEval.cost':
		'評価で実行に加わるのは最大で生成 {generated} トークン、判定 {judged} トークンです。',
	'adapterScores.title': 'スコアで比べる',
	'adapterScores.help':
		'どの候補にも同じ評価用プロンプト・シード・サンプリングを使い、ベースモデル（アダプターなし）がルーブリックで全返答を判定します。',
	'adapterScores.variants': '候補',
	'adapterScores.dataset': 'プロンプトを取る評価用分割のデータセット',
	'adapterScores.run': '採点する',
	'adapterScores.variant': '候補',
	'adapterScores.combined': '総合',
	'adapterScores.failed': '失敗',
	'adapterScores.winner': '最良'
};
