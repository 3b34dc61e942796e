return {
  mode = "live",
  state_dir = = "var/state",
}
