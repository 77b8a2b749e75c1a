/** Training by the judge (issue 14): best-metric validation, scores, overfitting notice. */
export const judgeMetricEn = {
	'rule.bestMetric': 'No evaluation of this run produces {metric} (produced: {available}).',
	'rule.loadBest': 'Every evaluation needs a checkpoint: {problem}.'
};

export const judgeMetricJa: Record<keyof typeof judgeMetricEn, string> = {
	'rule.bestMetric': 'この実行の評価は {metric} を出しません（出るもの: {available}）。',
	'rule.loadBest': '評価ごとにチェックポイントが必要です: {problem}。'
};
