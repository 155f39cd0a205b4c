## Reference fits from R for the theophylline data (pkpd issue 5, criteria 1 and 2).
##
## Regenerate (from the repository root):
##     Rscript tests/validation/r/theoph_nls.R
##
## Uses only base R (stats, datasets) and the recommended package nlme (nlsList).
## Writes the CSV fixtures and R_VERSION.txt next to this script. See README.md.

suppressPackageStartupMessages(library(nlme))

## ---- where to write --------------------------------------------------------
args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(file_arg) == 1L) dirname(normalizePath(file_arg)) else
  file.path("tests", "validation", "r")
## pkpd's copy of the data, used only to verify the Subject -> ID mapping
repo_root <- normalizePath(file.path(out_dir, "..", "..", ".."))
pkpd_csv <- file.path(repo_root, "pkpd", "io", "data", "theophylline.csv")

## ---- full-precision formatting ------------------------------------------------
## Shortest decimal string (15, 16 or 17 significant digits) that reads back
## to exactly the same double, so data values stay tidy (0.57, not
## 0.56999999999999995) and computed values keep every bit.
fmt <- function(x) {
  vapply(x, function(v) {
    if (is.na(v)) return("NA")
    if (is.logical(v)) return(if (v) "TRUE" else "FALSE")
    for (d in 15:17) {
      s <- sprintf("%.*g", d, v)
      if (as.numeric(s) == v) return(s)
    }
    s
  }, character(1), USE.NAMES = FALSE)
}
write_fixture <- function(df, name) {
  for (j in seq_along(df)) if (is.numeric(df[[j]]) || is.logical(df[[j]]))
    df[[j]] <- fmt(df[[j]])
  write.csv(df, file.path(out_dir, name), row.names = FALSE, quote = FALSE)
  cat("wrote", file.path(out_dir, name), "\n")
}

data(Theoph, package = "datasets")
Th <- as.data.frame(Theoph)      # drop the groupedData class for plain use
stopifnot(nrow(Th) == 132L, nlevels(Th$Subject) == 12L)

## ---- subject mapping: R's ordered factor -> pkpd integer ID ------------------
## R's Subject is an ORDERED factor whose levels are sorted by maximum
## concentration (6 < 7 < 8 < 11 < 3 < ...), so as.integer(Subject) gives the
## level code, NOT the subject number. pkpd's ID is the label as an integer.
Th$ID <- as.integer(as.character(Th$Subject))
map <- unique(data.frame(R_level = as.character(Th$Subject),
                         R_level_code = as.integer(Th$Subject),
                         ID = Th$ID, Wt = Th$Wt, Dose = Th$Dose))
map <- map[order(map$ID), ]
stopifnot(nrow(map) == 12L, setequal(map$ID, 1:12))

if (file.exists(pkpd_csv)) {
  pk <- read.csv(pkpd_csv, na.strings = ".")
  obs <- pk[pk$EVID == 0, ]
  for (id in 1:12) {
    r <- Th[Th$ID == id, ]
    p <- obs[obs$ID == id, ]
    ok <- nrow(r) == nrow(p) &&
      all(p$WT == r$Wt[1]) && all(p$DOSE_MGKG == r$Dose[1]) &&
      isTRUE(all.equal(p$TIME, r$Time, tolerance = 0)) &&
      isTRUE(all.equal(p$DV, r$conc, tolerance = 0))
    if (!ok) stop("Subject mapping check failed for ID ", id)
  }
  map$verified_against_pkpd_csv <- TRUE
  cat("mapping verified: ID == as.integer(as.character(Subject)) for all 12",
      "subjects (Wt, Dose, every Time and conc identical)\n")
} else {
  map$verified_against_pkpd_csv <- FALSE
  warning("pkpd CSV not found at ", pkpd_csv, "; mapping not verified")
}
write_fixture(map, "theoph_subject_map.csv")

form <- conc ~ SSfol(Dose, Time, lKe, lKa, lCl)

## ---- 1. naive pooled fit --------------------------------------------------------
fm <- nls(form, data = Th)
sfm <- summary(fm)
co <- sfm$coefficients
write_fixture(data.frame(parameter = rownames(co),
                         estimate = co[, "Estimate"],
                         std_error = co[, "Std. Error"],
                         t_value = co[, "t value"]),
              "theoph_pooled.csv")

write_fixture(data.frame(row = seq_len(nrow(Th)), Subject = Th$ID, Time = Th$Time,
                         conc = Th$conc, fitted = as.numeric(fitted(fm)),
                         residual = as.numeric(residuals(fm))),
              "theoph_pooled_fit.csv")

cm <- cov2cor(vcov(fm))
pn <- colnames(cm)
cor_rows <- character(0); cor_vals <- numeric(0)
for (i in seq_along(pn)) for (j in seq_along(pn)) {
  cor_rows <- c(cor_rows, sprintf("cor_%s_%s", pn[i], pn[j]))
  cor_vals <- c(cor_vals, cm[i, j])
}
ll <- logLik(fm)
extra <- data.frame(
  quantity = c("sigma", "df", "nobs", "logLik", "logLik_df", "AIC", "BIC", "RSS",
               "converged", "iterations", "final_convergence_tolerance", cor_rows),
  value = c(sfm$sigma, sfm$df[2], nobs(fm), as.numeric(ll), attr(ll, "df"),
            AIC(fm), BIC(fm), deviance(fm), as.numeric(fm$convInfo$isConv),
            fm$convInfo$finIter, fm$convInfo$finTol, cor_vals))
write_fixture(extra, "theoph_pooled_extra.csv")

## ---- 2. per-subject fits -------------------------------------------------------
fl <- nlsList(form, data = Theoph)      # groupedData: conc ~ Time | Subject
## In nlme 3.1-162 summary(fl) summarises each subject's nls on its own, so its
## standard errors use that subject's own residual SE (checked below against a
## stand-alone nls per subject); the pooled RSE only appears in print(fl).
sfl <- summary(fl)
failed_nlsList <- names(fl)[vapply(fl, is.null, logical(1))]

ind <- list(); fit_status <- list()
for (lev in levels(Theoph$Subject)) {
  id <- as.integer(lev)
  d <- Th[Th$ID == id, ]
  ## independent per-subject nls (own sigma); same self-start as nlsList
  f1 <- tryCatch(nls(form, data = d), error = function(e) e)
  g <- fl[[lev]]
  if (inherits(f1, "error") || is.null(g)) {
    fit_status[[lev]] <- data.frame(
      ID = id, nlsList_ok = !is.null(g), nls_ok = !inherits(f1, "error"),
      message = if (inherits(f1, "error")) conditionMessage(f1) else "")
    for (p in c("lKe", "lKa", "lCl"))
      ind[[length(ind) + 1L]] <- data.frame(
        ID = id, parameter = p, estimate = NA_real_, std_error = NA_real_,
        sigma = NA_real_, df = NA_real_,
        converged = FALSE)
    next
  }
  s1 <- summary(f1)
  ## nlsList and the stand-alone nls must agree (both call nls on the same data)
  stopifnot(isTRUE(all.equal(coef(f1), coef(g), tolerance = 1e-10)),
            isTRUE(all.equal(unname(s1$coefficients[, "Std. Error"]),
                             unname(sfl$coefficients[lev, "Std. Error", ]),
                             tolerance = 1e-10)))
  conv <- isTRUE(g$convInfo$isConv) && isTRUE(f1$convInfo$isConv)
  for (p in c("lKe", "lKa", "lCl"))
    ind[[length(ind) + 1L]] <- data.frame(
      ID = id, parameter = p,
      estimate = coef(g)[[p]],
      std_error = s1$coefficients[p, "Std. Error"],
      sigma = s1$sigma, df = s1$df[2], converged = conv)
  fit_status[[lev]] <- data.frame(ID = id, nlsList_ok = TRUE, nls_ok = TRUE,
                                  message = g$convInfo$stopMessage)
}
ind <- do.call(rbind, ind)
ind <- ind[order(ind$ID, match(ind$parameter, c("lKe", "lKa", "lCl"))), ]
write_fixture(ind, "theoph_individual.csv")

status <- do.call(rbind, fit_status)
status <- status[order(status$ID), ]
cat("\nper-subject fit status:\n"); print(status, row.names = FALSE)
if (length(failed_nlsList)) cat("nlsList FAILED for subjects:", failed_nlsList, "\n")
cat("nlsList pooled residual SE (print(fl)):", fmt(sfl$RSE), "on",
    sum(sfl$df[, 2]), "df\n")

## ---- versions -----------------------------------------------------------------
writeLines(c(R.version.string,
             paste0("nlme ", as.character(packageVersion("nlme")))),
           file.path(out_dir, "R_VERSION.txt"))

## ---- check against docs/references.md (nls pooled) -------------------------------
pub_est <- c(lKe = -2.5242, lKa = 0.3992, lCl = -3.2483)
pub_se  <- c(lKe = 0.1103, lKa = 0.1175, lCl = 0.0744)
cat("\npooled fit vs published (docs/references.md):\n")
print(cbind(estimate = co[, 1], published = pub_est, std_error = co[, 2],
            published_se = pub_se, sigma = sfm$sigma))
stopifnot(all(abs(co[names(pub_est), "Estimate"] - pub_est) <= 5e-5),
          all(abs(co[names(pub_se), "Std. Error"] - pub_se) <= 5e-5),
          abs(sfm$sigma - 1.46) <= 5e-3)
cat("pooled fit matches the published values to the printed 4 decimals\n")
