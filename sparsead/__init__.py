"""sparsead: sparse Jacobians and Hessians from compressed JVP/HVP products."""
