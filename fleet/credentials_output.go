package fleet

// ParseCredentials reads a broker login as fleet.credentials_file holds it
// ("username:password" on one line, or YAML with the keys username and
// password), for the other MQTT clients of a kiosk (the mqtt hand-off
// output) that log in the same way. Errors never quote the content.
func ParseCredentials(s string) (username, password string, err error) {
	return parseCredentials(s)
}
