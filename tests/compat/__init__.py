"""Tests of fastprdc.compat (a package, so that its test file names may repeat tests/')."""
