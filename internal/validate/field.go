package validate

import "fmt"

// FieldError is invalid input in one option of a library's Options. Field names the
// option in lower-case words ("per-server", "lock-timeout"), never a CLI flag: the CLI
// says which flag it came from ([FieldError.Render]). It satisfies
// errors.Is(err, ErrInvalid).
type FieldError struct {
	Field string
	// Value is the value given, as the message shows it; empty when the message is
	// about the option rather than one value of it.
	Value string
	// Reason says what is wrong, or what a valid value looks like.
	Reason string
}

// Field returns a *FieldError for the option field with value and the reason.
func Field(field string, value any, reason string, args ...any) error {
	return &FieldError{Field: field, Value: fmt.Sprint(value), Reason: fmt.Sprintf(reason, args...)}
}

func (e *FieldError) Error() string { return e.Render(e.Field) }

// Render is the message with the option called name (a CLI flag, a config key).
func (e *FieldError) Render(name string) string {
	if e.Value == "" {
		return name + " " + e.Reason
	}
	return "invalid " + name + " " + e.Value + ": " + e.Reason
}

// Is makes a FieldError invalid input.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// MissingError is a required option left empty. It satisfies
// errors.Is(err, ErrInvalid).
type MissingError struct {
	// Field names the option in lower-case words ("dsn").
	Field string
	// What says what the option holds.
	What string
}

func (e *MissingError) Error() string { return e.Render(e.Field) }

// Render is the message with the option called name.
func (e *MissingError) Render(name string) string {
	return name + " is required: " + e.What
}

// Is makes a MissingError invalid input.
func (e *MissingError) Is(target error) bool { return target == ErrInvalid }
