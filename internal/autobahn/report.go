package autobahn

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Result is one case's entry in a report index.
type Result struct {
	// Behavior is the verdict on what the implementation sent: OK,
	// NON-STRICT, FAILED, UNIMPLEMENTED or INFORMATIONAL.
	Behavior string `json:"behavior"`
	// BehaviorClose is the verdict on the closing handshake: OK, FAILED,
	// UNCLEAN, WRONG CODE, FAILED BY CLIENT or INFORMATIONAL.
	BehaviorClose string `json:"behaviorClose"`
	// ReportFile is the case's detailed report, relative to the index.
	ReportFile string `json:"reportfile"`
}

// Passed reports whether both verdicts are OK or INFORMATIONAL (the cases
// that only measure, such as 7.1.6 and 9.*, have nothing to get wrong).
func (r Result) Passed() bool {
	return acceptable(r.Behavior) && acceptable(r.BehaviorClose)
}

func acceptable(verdict string) bool { return verdict == "OK" || verdict == "INFORMATIONAL" }

// Index is a parsed index.json: agent, then case id ("5.19"), to result.
type Index map[string]map[string]Result

// ParseIndex decodes the index.json that Autobahn writes next to its
// HTML report.
func ParseIndex(data []byte) (Index, error) {
	var idx Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("autobahn: index.json: %w", err)
	}
	return idx, nil
}

// Failure is a case that did not pass, with what its report file says.
type Failure struct {
	Agent, Case string
	Result
	// Description, Outcome and OutcomeClose come from the report file:
	// what the case does, and Autobahn's explanation of each verdict.
	Description, Outcome, OutcomeClose string
}

func (f Failure) String() string {
	s := fmt.Sprintf("case %s (%s): behavior %s, close %s: %s", f.Case, f.Agent, f.Behavior, f.BehaviorClose, f.Description)
	if f.Outcome != "" || f.OutcomeClose != "" {
		s += " [" + f.Outcome + " / " + f.OutcomeClose + "]"
	}
	return s
}

// caseReport holds the fields of a case report file that Check uses.
type caseReport struct {
	Description string `json:"description"`
	Result      string `json:"result"`
	ResultClose string `json:"resultClose"`
}

// Check reads index.json from a reports directory (such as
// reports/servers) and the report file of every case that did not pass.
// It returns the number of cases in the index and the failures in case
// order. An index without cases is an error: nothing was tested.
func Check(fsys fs.FS) (cases int, failed []Failure, err error) {
	data, err := fs.ReadFile(fsys, "index.json")
	if err != nil {
		return 0, nil, fmt.Errorf("autobahn: %w", err)
	}
	idx, err := ParseIndex(data)
	if err != nil {
		return 0, nil, err
	}
	for agent, results := range idx {
		for id, r := range results {
			cases++
			if r.Passed() {
				continue
			}
			f := Failure{Agent: agent, Case: id, Result: r}
			rep, err := readReport(fsys, r.ReportFile)
			if err != nil {
				f.Description = "(" + err.Error() + ")"
			} else {
				f.Description, f.Outcome, f.OutcomeClose = rep.Description, rep.Result, rep.ResultClose
			}
			failed = append(failed, f)
		}
	}
	if cases == 0 {
		return 0, nil, errors.New("autobahn: index.json lists no cases")
	}
	slices.SortFunc(failed, func(a, b Failure) int {
		return cmp.Or(compareCaseIDs(a.Case, b.Case), strings.Compare(a.Agent, b.Agent))
	})
	return cases, failed, nil
}

func readReport(fsys fs.FS, name string) (caseReport, error) {
	var rep caseReport
	if name == "" {
		return rep, errors.New("no report file named")
	}
	data, err := fs.ReadFile(fsys, path.Clean(name))
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return rep, fmt.Errorf("%s: %w", name, err)
	}
	return rep, nil
}

// compareCaseIDs orders case ids by their numbers, so 1.1.10 follows
// 1.1.9; a part that is not a number compares as text.
func compareCaseIDs(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		an, aerr := strconv.Atoi(as[i])
		bn, berr := strconv.Atoi(bs[i])
		c := cmp.Compare(an, bn)
		if aerr != nil || berr != nil {
			c = strings.Compare(as[i], bs[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(as), len(bs))
}
