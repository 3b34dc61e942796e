-- The sandbox has no os: this line must fail (were it to run, the test
-- program would exit before its plan is done, and fail).
os.exit(3)
return {}
