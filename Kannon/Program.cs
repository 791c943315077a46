return await Kannon.Hosting.KannonCommandLine.RunAsync(args);
