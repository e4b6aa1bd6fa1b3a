"""Structure -> spectrum (seed 002): local descriptors of each Si site, the choice of the sites
worth computing, and forward models that predict the spectra of the sites not computed."""
