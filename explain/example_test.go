package explain_test

import (
	"fmt"

	"github.com/dawn-ml/dawn/explain"
)

func ExampleAPriori() {
	loc := explain.EncodeStrings("location", []string{"CAN", "CAN", "CAN", "USA", "USA", "USA", "UK", "UK"})
	ver := explain.EncodeStrings("version", []string{"v1", "v1", "v2", "v1", "v2", "v2", "v1", "v2"})
	usage := []float64{1500, 1700, 90, 80, 95, 70, 85, 60}
	flags, _ := explain.Predicate{Column: "usage", Op: explain.OpGt, Value: "1000"}.ClassifyNumbers(usage)
	r, _ := explain.APriori([]*explain.Column{loc, ver}, explain.Labels{Outlier: flags},
		explain.Options{MinSupport: 0.5, MinRatio: 2, Metric: explain.GlobalRatio, MaxOrder: 3})
	for _, e := range r.Explanations {
		fmt.Printf("%s: support %.2f, global ratio %.2f (%v of %v)\n", explain.Describe(r, e), e.Support, e.Ratio, e.OutlierCount, e.TotalCount)
	}
	// Output:
	// location=CAN: support 1.00, global ratio 2.67 (2 of 3)
	// version=v1: support 1.00, global ratio 2.00 (2 of 4)
}
