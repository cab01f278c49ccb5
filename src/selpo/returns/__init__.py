"""Customer returns and the marketplace's recall: what a buyer brings back to the counter, and
a parcel its marketplace calls back before it is issued, both sent on the way back."""
